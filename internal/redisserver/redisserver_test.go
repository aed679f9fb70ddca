package redisserver

import (
	"net"
	"testing"
	"time"
)

func TestStartAnswersAndStopEndsIt(t *testing.T) {
	s := StartT(t)
	if s.Version == "" || s.Pid == 0 {
		t.Fatalf("started server: %+v, want its version and PID", s)
	}
	info, err := infoServer(s.Addr)
	if err != nil || info["redis_version"] != s.Version {
		t.Fatalf("INFO server on %s: %v %v, want redis_version %s", s.Addr, info, err, s.Version)
	}
	s.Stop()
	if nc, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		nc.Close()
		t.Fatalf("%s still accepts connections after Stop", s.Addr)
	}
}
