package rpc

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// dial connects to an admin API over TLS when tc is set, in plaintext otherwise.
func dial(addr string, tc *tls.Config) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if tc != nil {
		creds = credentials.NewTLS(tc)
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return cc, nil
}

// Client calls the admin API of a cluster given some of its nodes' admin
// addresses. It tries them in turn and follows the leader where a verb needs it.
type Client struct {
	Addrs   []string
	Token   string
	Timeout time.Duration // per call; default 5s
	// StreamTimeout bounds backup and restore; default 10 minutes.
	StreamTimeout time.Duration
	// TLS, if set, is used to reach every node (they serve TLS on the admin
	// port); nil means plaintext.
	TLS *tls.Config
}

// NewClient returns a client for the comma-separated admin addresses.
func NewClient(addrs, token string) *Client {
	var list []string
	for _, a := range strings.Split(addrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			list = append(list, a)
		}
	}
	return &Client{Addrs: list, Token: token}
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 5 * time.Second
}

func (c *Client) outgoing(ctx context.Context) context.Context {
	if c.Token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, tokenMD, "Bearer "+c.Token)
}

// on calls fn against addr with a deadline; errors name the address.
func on[T any](ctx context.Context, c *Client, addr string, d time.Duration, fn func(context.Context, adminpb.AdminClient) (T, error)) (T, error) {
	var zero T
	cc, err := dial(addr, c.TLS)
	if err != nil {
		return zero, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(c.outgoing(ctx), d)
	defer cancel()
	v, err := fn(ctx, adminpb.NewAdminClient(cc))
	if err != nil {
		return zero, fmt.Errorf("%s: %w", addr, tlsHint(describe(err), c.TLS))
	}
	return v, nil
}

// describe turns gRPC errors into readable ones.
func describe(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		if strings.Contains(st.Message(), "connection refused") || strings.Contains(st.Message(), "connect:") {
			return &readable{"node unreachable: connection refused", err}
		}
	case codes.DeadlineExceeded:
		return &readable{"no answer in time", err}
	}
	return &readable{st.Message(), err}
}

// readable shows a short message and keeps the gRPC status for errors.As.
type readable struct {
	msg string
	err error
}

func (r *readable) Error() string { return r.msg }
func (r *readable) Unwrap() error { return r.err }

// IsNotLeader reports whether err says the node called does not lead.
func IsNotLeader(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Unavailable && strings.HasPrefix(st.Message(), "not leader")
}

// any tries each address until one answers.
func anyAddr[T any](ctx context.Context, c *Client, fn func(context.Context, adminpb.AdminClient) (T, error)) (T, error) {
	var zero T
	var errs []error
	for _, addr := range c.Addrs {
		v, err := on(ctx, c, addr, c.timeout(), fn)
		if err == nil {
			return v, nil
		}
		if st, ok := status.FromError(err); ok && (st.Code() == codes.Unauthenticated || st.Code() == codes.FailedPrecondition || st.Code() == codes.NotFound) {
			return zero, err // the cluster answered: another node would say the same
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return zero, errors.New("no admin address given")
	}
	return zero, errors.Join(errs...)
}

// Status asks the first reachable node about itself.
func (c *Client) Status(ctx context.Context) (*adminpb.StatusResponse, error) {
	return anyAddr(ctx, c, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.StatusResponse, error) {
		return a.Status(ctx, &adminpb.StatusRequest{})
	})
}

// statusWithAddr is Status, also naming the address that answered.
func (c *Client) statusWithAddr(ctx context.Context) (*adminpb.StatusResponse, string, error) {
	var errs []error
	for _, addr := range c.Addrs {
		st, err := c.StatusOf(ctx, addr)
		if err == nil {
			return st, addr, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, "", errors.New("no admin address given")
	}
	return nil, "", errors.Join(errs...)
}

// StatusOf asks one node.
func (c *Client) StatusOf(ctx context.Context, addr string) (*adminpb.StatusResponse, error) {
	return on(ctx, c, addr, c.timeout(), func(ctx context.Context, a adminpb.AdminClient) (*adminpb.StatusResponse, error) {
		return a.Status(ctx, &adminpb.StatusRequest{})
	})
}

// MemberStatus is one member's status, or why it could not be had.
type MemberStatus struct {
	Member *adminpb.Member
	Status *adminpb.StatusResponse
	Err    error
}

// ClusterStatus collects every member's status.
func (c *Client) ClusterStatus(ctx context.Context) ([]MemberStatus, error) {
	ms, err := c.Members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MemberStatus, len(ms.Members))
	done := make(chan struct{}, len(ms.Members))
	for i, m := range ms.Members {
		out[i].Member = m
		go func() {
			defer func() { done <- struct{}{} }()
			if m.AdminAddr == "" {
				out[i].Err = errors.New("admin address unknown")
				return
			}
			out[i].Status, out[i].Err = c.StatusOf(ctx, m.AdminAddr)
		}()
	}
	for range ms.Members {
		<-done
	}
	return out, nil
}

// Members returns the Raft configuration.
func (c *Client) Members(ctx context.Context) (*adminpb.MembersResponse, error) {
	return anyAddr(ctx, c, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.MembersResponse, error) {
		return a.Members(ctx, &adminpb.MembersRequest{})
	})
}

// Join adds a server (any node forwards to the leader).
func (c *Client) Join(ctx context.Context, req *adminpb.JoinRequest) (*adminpb.JoinResponse, error) {
	return anyAddr(ctx, c, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.JoinResponse, error) {
		return a.Join(ctx, req)
	})
}

// Promote makes a non-voter a voter.
func (c *Client) Promote(ctx context.Context, id string) (*adminpb.PromoteResponse, error) {
	return anyAddr(ctx, c, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.PromoteResponse, error) {
		return a.Promote(ctx, &adminpb.PromoteRequest{Id: id})
	})
}

// Remove takes a server out.
func (c *Client) Remove(ctx context.Context, id string) (*adminpb.RemoveResponse, error) {
	return anyAddr(ctx, c, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.RemoveResponse, error) {
		return a.Remove(ctx, &adminpb.RemoveRequest{Id: id})
	})
}

// TransferLeadership hands leadership to id (any voter if empty).
func (c *Client) TransferLeadership(ctx context.Context, id string) (*adminpb.TransferLeadershipResponse, error) {
	return anyAddr(ctx, c, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.TransferLeadershipResponse, error) {
		return a.TransferLeadership(ctx, &adminpb.TransferLeadershipRequest{To: id})
	})
}

// RotateRelaySecret has the leader (through the first reachable node)
// replace the relay secret.
func (c *Client) RotateRelaySecret(ctx context.Context) error {
	_, err := anyAddr(ctx, c, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.RotateRelaySecretResponse, error) {
		return a.RotateRelaySecret(ctx, &adminpb.RotateRelaySecretRequest{})
	})
	return err
}

// Snapshot forces a snapshot on the first reachable node.
func (c *Client) Snapshot(ctx context.Context) (*adminpb.SnapshotResponse, error) {
	return anyAddr(ctx, c, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.SnapshotResponse, error) {
		return a.Snapshot(ctx, &adminpb.SnapshotRequest{})
	})
}

// leaderAddr finds the leader's admin address through any node, waiting up
// to the call timeout for an election in progress to end.
func (c *Client) leaderAddr(ctx context.Context) (string, error) {
	deadline := time.Now().Add(c.timeout())
	for {
		st, addr, err := c.statusWithAddr(ctx)
		if err != nil {
			return "", err
		}
		switch {
		case st.Role == "leader":
			// The address that reached it, not the one it advertises: from
			// outside a container network (kubectl port-forward to the
			// leader's pod) only the former is reachable.
			return addr, nil
		case st.LeaderAdminAddr != "":
			return st.LeaderAdminAddr, nil
		case time.Now().After(deadline):
			return "", fmt.Errorf("%s: no leader known", st.AdminAddr)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Client) streamTimeout() time.Duration {
	if c.StreamTimeout > 0 {
		return c.StreamTimeout
	}
	return 10 * time.Minute
}

// BackupResult describes a finished backup.
type BackupResult struct {
	Index  uint64
	Size   int64
	SHA256 string
}

// Backup streams the leader's state into w, calling progress with the bytes
// so far, and checks the SHA-256 the leader reports against what arrived.
func (c *Client) Backup(ctx context.Context, w io.Writer, progress func(int64)) (BackupResult, error) {
	addr, err := c.leaderAddr(ctx)
	if err != nil {
		return BackupResult{}, err
	}
	return on(ctx, c, addr, c.streamTimeout(), func(ctx context.Context, a adminpb.AdminClient) (BackupResult, error) {
		stream, err := a.Backup(ctx, &adminpb.BackupRequest{})
		if err != nil {
			return BackupResult{}, err
		}
		sum := sha256.New()
		var res BackupResult
		var n int64
		for {
			ch, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				return BackupResult{}, err
			}
			if len(ch.Data) > 0 {
				if _, err := w.Write(ch.Data); err != nil {
					return BackupResult{}, fmt.Errorf("write backup: %w", err)
				}
				sum.Write(ch.Data)
				n += int64(len(ch.Data))
				if progress != nil {
					progress(n)
				}
			}
			if ch.Sha256 != "" {
				res = BackupResult{Index: ch.Index, Size: ch.Size, SHA256: ch.Sha256}
			}
		}
		got := hex.EncodeToString(sum.Sum(nil))
		if res.SHA256 == "" || res.SHA256 != got || res.Size != n {
			return BackupResult{}, fmt.Errorf("backup damaged in transit: received %d bytes with SHA-256 %s, leader sent %d with %s", n, got, res.Size, res.SHA256)
		}
		return res, nil
	})
}

// Restore sends a backup to the leader, which checks it and installs it
// through Raft. sha is the expected SHA-256 of the data.
func (c *Client) Restore(ctx context.Context, r io.Reader, sha string, progress func(int64)) (*adminpb.RestoreResponse, error) {
	addr, err := c.leaderAddr(ctx)
	if err != nil {
		return nil, err
	}
	return on(ctx, c, addr, c.streamTimeout(), func(ctx context.Context, a adminpb.AdminClient) (*adminpb.RestoreResponse, error) {
		stream, err := a.Restore(ctx)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 256<<10)
		var n int64
		for {
			k, rerr := r.Read(buf)
			if k > 0 {
				if err := stream.Send(&adminpb.RestoreChunk{Data: buf[:k]}); err != nil {
					_, rerr2 := stream.CloseAndRecv()
					return nil, errors.Join(err, rerr2)
				}
				n += int64(k)
				if progress != nil {
					progress(n)
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				return nil, fmt.Errorf("read backup: %w", rerr)
			}
		}
		if err := stream.Send(&adminpb.RestoreChunk{Sha256: sha}); err != nil {
			_, rerr2 := stream.CloseAndRecv()
			return nil, errors.Join(err, rerr2)
		}
		return stream.CloseAndRecv()
	})
}
