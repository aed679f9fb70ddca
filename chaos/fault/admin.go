package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The suite talks to the admin API through the generated stubs only, not
// through the server's rpc package: it depends on no server code, so it
// judges the binary as a black box and builds while server packages change.

// callOn calls fn on one node's admin API within timeout.
func callOn[T any](ctx context.Context, addr string, timeout time.Duration, fn func(context.Context, adminpb.AdminClient) (T, error)) (T, error) {
	var zero T
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return zero, fmt.Errorf("%s: %w", addr, err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := fn(ctx, adminpb.NewAdminClient(cc))
	if err != nil {
		return zero, fmt.Errorf("%s: %w", addr, err)
	}
	return v, nil
}

// callAny tries each node in turn until one answers; the server forwards
// leader-only verbs to the leader itself.
func callAny[T any](ctx context.Context, nodes []Node, timeout time.Duration, fn func(context.Context, adminpb.AdminClient) (T, error)) (T, error) {
	var zero T
	var errs []error
	for _, n := range nodes {
		v, err := callOn(ctx, n.AdminAddr, timeout, fn)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return zero, errors.Join(errs...)
}

// statusOf asks one node for its status.
func statusOf(ctx context.Context, n Node, timeout time.Duration) (*adminpb.StatusResponse, error) {
	return callOn(ctx, n.AdminAddr, timeout, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.StatusResponse, error) {
		return a.Status(ctx, &adminpb.StatusRequest{})
	})
}

// transferLeadership hands leadership to any other voter.
func transferLeadership(ctx context.Context, nodes []Node) (*adminpb.TransferLeadershipResponse, error) {
	return callAny(ctx, nodes, 5*time.Second, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.TransferLeadershipResponse, error) {
		return a.TransferLeadership(ctx, &adminpb.TransferLeadershipRequest{})
	})
}

// removeMember takes id out of the configuration.
func removeMember(ctx context.Context, nodes []Node, id string) error {
	_, err := callAny(ctx, nodes, 5*time.Second, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.RemoveResponse, error) {
		return a.Remove(ctx, &adminpb.RemoveRequest{Id: id})
	})
	return err
}

// isMember reports whether id is in the configuration as node n sees it.
func isMember(ctx context.Context, n Node, id string) (bool, error) {
	ms, err := callOn(ctx, n.AdminAddr, 3*time.Second, func(ctx context.Context, a adminpb.AdminClient) (*adminpb.MembersResponse, error) {
		return a.Members(ctx, &adminpb.MembersRequest{})
	})
	if err != nil {
		return false, err
	}
	for _, m := range ms.Members {
		if m.Id == id {
			return true, nil
		}
	}
	return false, nil
}

// oneLine shortens a joined multi-node error for the report.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
