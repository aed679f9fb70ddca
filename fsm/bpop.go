package fsm

import "github.com/understudy/understudy/cmdtab"

// BPopCommand is the write a blocked BLPOP/BRPOP retries each time one of its
// keys changes: pop one element from the first non-empty list among the keys,
// atomically. It answers [key, element], or a null array when every list is
// empty (nothing changed then). BLMOVE retries a plain LMOVE.
const BPopCommand = "understudy.bpop"

func bpopCommands() []decl {
	return []decl{{name: BPopCommand, run: cmdBPop, since: 1,
		own: &cmdtab.Spec{Name: BPopCommand, Arity: -3, Flags: cmdtab.Write, First: 2, Last: -1, Step: 1}}}
}

// understudy.bpop LEFT|RIGHT key [key ...]
func cmdBPop(c *ctx, argv [][]byte) Value {
	left, ok := parseSide(argv[1])
	if !ok {
		return errSyntax
	}
	for _, k := range argv[2:] {
		it, _, exists, errv := c.getList(k)
		if errv.Kind == KindError {
			return errv
		}
		if !exists {
			continue
		}
		l := c.mutableList(&it)
		v := l.pop(left)
		c.afterPop(it, l, left)
		return Array([]Value{BulkString(it.key), BulkString(v)})
	}
	return NullArray
}
