package rpc_test

import (
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	adminpb "github.com/understudy/understudy/proto/understudy/v1"
)

func grpcConn(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// health asks addr's health service about service ("" is the whole server).
func health(t testing.TB, cc *grpc.ClientConn, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	r, err := healthpb.NewHealthClient(cc).Check(ctxT(t), &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("health check %q: %v", service, err)
	}
	return r.Status
}

// TestAdmin_HealthAndReflection: the standard gRPC health service says
// SERVING on a member of a cluster with a leader and NOT_SERVING on a node
// that belongs to no cluster; server reflection lists the admin service.
func TestAdmin_HealthAndReflection(t *testing.T) {
	c := startCluster(t, "health", 3)
	l := c.Leader(t)
	f := c.Followers(l)[0]
	admin := adminpb.Admin_ServiceDesc.ServiceName
	for _, n := range []*tnode{l, f} {
		cc := grpcConn(t, n.AdminAddr())
		for _, svc := range []string{"", admin} {
			var st healthpb.HealthCheckResponse_ServingStatus
			waitFor(t, 5*time.Second, func() bool {
				st = health(t, cc, svc)
				return st == healthpb.HealthCheckResponse_SERVING
			}, "%s (%s): health of %q is %v, want SERVING", n.ID, n.AdminAddr(), svc, st)
		}
	}

	lone := newCluster(t, "lone")
	ln := lone.Add(t, lone.Config("lone1")) // no peers, no join: waits to be added
	cc := grpcConn(t, ln.AdminAddr())
	for _, svc := range []string{"", admin} {
		if st := health(t, cc, svc); st != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("lone node: health of %q is %v, want NOT_SERVING", svc, st)
		}
	}

	// Reflection on a cluster member.
	stream, err := reflectionpb.NewServerReflectionClient(grpcConn(t, f.AdminAddr())).ServerReflectionInfo(ctxT(t))
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil {
		t.Fatalf("reflection list services: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection list services: %v", err)
	}
	var names []string
	found := false
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
		found = found || s.Name == "understudy.v1.Admin"
	}
	if !found {
		t.Fatalf("reflection lists %v, want understudy.v1.Admin among them", names)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "understudy.v1.Admin"}}); err != nil {
		t.Fatalf("reflection file containing symbol: %v", err)
	}
	resp, err = stream.Recv()
	if err != nil {
		t.Fatalf("reflection file containing symbol: %v", err)
	}
	if fds := resp.GetFileDescriptorResponse().GetFileDescriptorProto(); len(fds) == 0 {
		t.Fatalf("reflection has no file descriptor for understudy.v1.Admin: %v", resp)
	}
	_ = stream.CloseSend()
	t.Logf("reflection lists %v", names)
}
