package rpc

import (
	"context"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// tokenMD carries the admin token: "authorization: Bearer <token>".
const tokenMD = "authorization"

// guarded lists the verbs that change the cluster or hand out its data; when
// a token is configured they require it. Status, Members and health stay open
// so probes and dashboards need no secret.
var guarded = map[string]bool{
	"/understudy.v1.Admin/Join":               true,
	"/understudy.v1.Admin/Promote":            true,
	"/understudy.v1.Admin/Remove":             true,
	"/understudy.v1.Admin/TransferLeadership": true,
	"/understudy.v1.Admin/Snapshot":           true,
	"/understudy.v1.Admin/RotateRelaySecret":  true,
	"/understudy.v1.Admin/Backup":             true,
	"/understudy.v1.Admin/Restore":            true,
}

func (s *Server) checkToken(ctx context.Context, method string) error {
	if s.cfg.Token == "" || !guarded[method] {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get(tokenMD) {
		tok := strings.TrimPrefix(v, "Bearer ")
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.Token)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "missing or wrong admin token (set --token or UNDERSTUDY_ADMIN_TOKEN)")
}

func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.checkToken(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.checkToken(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}
