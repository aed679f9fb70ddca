package fsm

// PUBLISH goes through the log, so a message reaches subscribers on every
// node (as Redis propagates PUBLISH to its replicas) in one order everywhere.
// The FSM itself keeps nothing: after the entry is applied, each node hands
// the message to its own subscribers through the publish hook. The reply is
// filled in by the node that answers the client (its subscriber count).

func publishCommands() []*Command {
	return []*Command{{Name: "publish", Arity: 3, Flags: FlagWrite, run: cmdPublish}}
}

func cmdPublish(c *ctx, argv [][]byte) Value {
	if c.write {
		c.f.published = append(c.f.published, Message{Channel: string(argv[1]), Payload: string(argv[2])})
	}
	return Zero
}

// Message is one published message.
type Message struct {
	Channel, Payload string
}

// SetPublishHook registers fn, called outside the lock after each applied
// entry with the messages it published, in order.
func (f *FSM) SetPublishHook(fn func([]Message)) {
	f.mu.Lock()
	f.onPublish = fn
	f.mu.Unlock()
}
