// Package freeport hands out 127.0.0.1 addresses that a test, a script or a
// local cluster launcher will listen on a moment later. It is the one port
// allocator of the repository: every test harness and tool takes ports here.
//
// Ports come from [Low, High), below Linux's ephemeral range (32768 and up).
// A port the kernel hands out for ":0" is also what it gives the next
// outgoing connection or ":0" listener of any process, which can take it
// before the caller listens (the packages' tests run in parallel); a port
// drawn at random below that range and found free is only taken by someone
// else who draws it too. Within one process no port is handed out twice.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Low and High bound the ports handed out: [Low, High).
const Low, High = 20000, 32768

// handedOut remembers every port this process was given, so that several
// addresses taken before any is listened on are distinct.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// Addr returns a 127.0.0.1 address whose port was free a moment ago and that
// this process has not been given before.
func Addr() (string, error) {
	p, err := Port()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// Addrs returns n distinct addresses as Addr does.
func Addrs(n int) ([]string, error) {
	out := make([]string, 0, n)
	for range n {
		a, err := Addr()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Port returns a port on 127.0.0.1 that was free a moment ago and that this
// process has not been given before.
func Port() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 200 {
		p := Low + rand.IntN(High-Low)
		if handedOut.ports[p] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue // in use: draw again
		}
		if err := ln.Close(); err != nil {
			return 0, fmt.Errorf("free port %d: %w", p, err)
		}
		handedOut.ports[p] = true
		return p, nil
	}
	return 0, errors.New("free port: no free port in 200 draws")
}
