package script

// Kind says how a Reply is encoded on the wire. The values mirror fsm.Kind one
// to one (KindSimple through KindPairs have the same numbers), so the state
// machine converts with a cast; KindBool and KindBigNumber are RESP3 types
// that fsm does not have yet (see DESIGN.md).
type Kind uint8

// The reply kinds, numbered as fsm.Kind numbers them.
const (
	KindSimple    Kind = iota // +OK
	KindError                 // -ERR ... (Str holds the whole text, code included)
	KindInt                   // :1
	KindBulk                  // $3\r\nfoo
	KindNull                  // $-1 (RESP2) / _ (RESP3)
	KindNullArray             // *-1 (RESP2) / _ (RESP3)
	KindArray                 // *N
	KindMap                   // %N (RESP3), *2N (RESP2); Arr holds key, value, key, value...
	KindSet                   // ~N (RESP3), *N (RESP2)
	KindDouble                // ,1.5 (RESP3), bulk string (RESP2); Str holds the formatted number
	KindVerbatim              // =N txt:... (RESP3), bulk string (RESP2); Str holds the text
	KindPush                  // >N (RESP3), *N (RESP2)
	KindPairs                 // flat member, score... (RESP2); [member, score] pairs (RESP3)
	// KindBool is RESP3's boolean (#t / #f); Int is 1 or 0. RESP2 clients
	// get :1 / :0, as Redis's addReplyBool sends them.
	KindBool
	// KindBigNumber is RESP3's big number ((123...); Str holds the digits.
	// RESP2 clients get a bulk string.
	KindBigNumber
)

// Reply is one reply: what Host.Call returns and what a script run
// produces. Only the fields its Kind names are meaningful.
type Reply struct {
	Kind Kind
	Int  int64
	Str  []byte
	Arr  []Reply
}

// ErrorReply returns an error reply; s is the whole text, e.g. "ERR syntax error".
func ErrorReply(s string) Reply { return Reply{Kind: KindError, Str: []byte(s)} }

// IsError reports whether r is an error reply.
func (r Reply) IsError() bool { return r.Kind == KindError }
