package fsm

// PUBLISH goes through the log, so a message reaches subscribers on every
// node (as Redis propagates PUBLISH to its replicas) in one order everywhere.
// The FSM itself keeps nothing: after the entry is applied, each node hands
// the message to its own subscribers through the publish hook. The reply is
// filled in by the node that answers the client (its subscriber count).
//
// SPUBLISH is the same for shard channels: the cluster is one shard, so its
// messages reach the shard subscribers (SSUBSCRIBE) of every node, as Redis
// Cluster propagates SPUBLISH to the replicas of the shard. Shard channels
// are a namespace of their own: PUBLISH never reaches an SSUBSCRIBE, nor
// SPUBLISH a SUBSCRIBE or a pattern.

func publishCommands() []decl {
	return []decl{
		{name: "publish", run: cmdPublish, since: 1, log: true},
		{name: "spublish", run: cmdSPublish, since: Level2, log: true},
	}
}

func cmdPublish(c *ctx, argv [][]byte) Value {
	if c.write {
		c.f.published = append(c.f.published, Message{Channel: string(argv[1]), Payload: string(argv[2])})
	}
	return Zero
}

func cmdSPublish(c *ctx, argv [][]byte) Value {
	if c.write {
		c.f.published = append(c.f.published, Message{Channel: string(argv[1]), Payload: string(argv[2]), Shard: true})
	}
	return Zero
}

// Message is one published message; Shard marks SPUBLISH's.
type Message struct {
	Channel, Payload string
	Shard            bool
}

// SetPublishHook registers fn, called outside the lock after each applied
// entry with the messages it published, in order.
func (f *FSM) SetPublishHook(fn func([]Message)) {
	f.mu.Lock()
	f.onPublish = fn
	f.mu.Unlock()
}
