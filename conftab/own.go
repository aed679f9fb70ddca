package conftab

// Understudy's own parameters: settings Redis does not have, in the
// reference's format (name, canonical, access, kind, default, bounds). They
// are found by Lookup and listed by Own, never by All (which is Redis's
// list, compared against a real redis-server).
//
//   - lua-instruction-limit: the instructions a script that may write runs
//     before every node stops it at the same point (fsm/script's budget;
//     Redis stops scripts by the wall clock, busy-reply-threshold, which
//     would differ between nodes).
//   - lua-memory-limit: the bytes one script run may allocate in total.
const ownTSV = "lua-instruction-limit\tlua-instruction-limit\tmutable\tint\t100000000\t1000..4611686018427387904\n" +
	"lua-memory-limit\tlua-memory-limit\tmutable\tmemory\t536870912\t1048576..4611686018427387904\n"

var own = mustLoad(ownTSV)

func init() {
	for name, p := range own.byName {
		if ref.byName[name] != nil {
			panic("conftab: own parameter " + name + " is also Redis's")
		}
		ref.byName[name] = p
	}
}

// Own lists Understudy's own parameters, sorted by name.
func Own() []*Param { return own.all }
