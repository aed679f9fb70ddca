package rpc

import (
	"context"
	"errors"
	"fmt"

	adminpb "github.com/understudy/understudy/proto/understudy/v1"
)

// LeaderCommitIndex asks the leader, over its admin API at the peer address
// this node reaches it by, how far its log is committed. A follower's own
// commit index trails the leader's by whatever it has not been sent yet, so
// only the leader's figure says whether the follower has caught up.
func (s *Server) LeaderCommitIndex(ctx context.Context) (uint64, error) {
	li, ok := s.node.Leader()
	if !ok {
		return 0, errors.New("no leader")
	}
	if li.Self {
		return s.node.Status().CommitIndex, nil
	}
	if li.PeerAdminAddr == "" {
		return 0, fmt.Errorf("leader %s has not recorded its admin address yet", li.ID)
	}
	cc, err := dial(li.PeerAdminAddr, s.peerTLS())
	if err != nil {
		return 0, fmt.Errorf("leader %s: %w", li.ID, err)
	}
	defer cc.Close()
	st, err := adminpb.NewAdminClient(cc).Status(ctx, &adminpb.StatusRequest{})
	if err != nil {
		return 0, fmt.Errorf("status of leader %s at %s: %w", li.ID, li.PeerAdminAddr, err)
	}
	return st.CommitIndex, nil
}
