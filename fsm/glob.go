package fsm

// globMatch is Redis's stringmatchlen: * ? [abc] [^a-z] and \ escapes.
func globMatch(pat, s []byte, nocase bool) bool {
	skipLonger := false
	return globMatchDepth(pat, s, nocase, &skipLonger, 0)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func globMatchDepth(pat, s []byte, nocase bool, skipLonger *bool, depth int) bool {
	// Redis bounds recursion the same way, against patterns like "*a*a*a*...".
	if depth > 1000 {
		return false
	}
	for len(pat) > 0 && len(s) > 0 {
		switch pat[0] {
		case '*':
			for len(pat) > 1 && pat[1] == '*' {
				pat = pat[1:]
			}
			if len(pat) == 1 {
				return true
			}
			for ; len(s) > 0; s = s[1:] {
				if globMatchDepth(pat[1:], s, nocase, skipLonger, depth+1) {
					return true
				}
				if *skipLonger {
					return false
				}
			}
			// As in Redis: the rest of the pattern matches no suffix of
			// s, so no earlier '*' can help by matching more. Without
			// this, "*a*a*a*...b" takes exponential time.
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			pat = pat[1:]
			not := len(pat) > 0 && pat[0] == '^'
			if not {
				pat = pat[1:]
			}
			match := false
			for len(pat) > 0 && pat[0] != ']' {
				switch {
				case pat[0] == '\\' && len(pat) >= 2:
					pat = pat[1:]
					if pat[0] == s[0] {
						match = true
					}
				case len(pat) >= 3 && pat[1] == '-':
					start, end, c := pat[0], pat[2], s[0]
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = lower(start), lower(end), lower(c)
					}
					pat = pat[2:]
					if c >= start && c <= end {
						match = true
					}
				default:
					if pat[0] == s[0] || (nocase && lower(pat[0]) == lower(s[0])) {
						match = true
					}
				}
				pat = pat[1:]
			}
			if len(pat) == 0 {
				// Unterminated class: Redis treats the end as the close.
				pat = []byte{']'}
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
		case '\\':
			if len(pat) >= 2 {
				pat = pat[1:]
			}
			fallthrough
		default:
			if pat[0] != s[0] && !(nocase && lower(pat[0]) == lower(s[0])) {
				return false
			}
			s = s[1:]
		}
		pat = pat[1:]
		if len(s) == 0 {
			for len(pat) > 0 && pat[0] == '*' {
				pat = pat[1:]
			}
			break
		}
	}
	// Trailing stars were dropped above once s ran out; an empty s to
	// begin with matches only an empty pattern, as in Redis (which is why
	// KEYS and SCAN treat a lone "*" specially).
	return len(pat) == 0 && len(s) == 0
}

// GlobMatch matches s against a Redis glob pattern (KEYS, PSUBSCRIBE, CONFIG GET).
func GlobMatch(pat, s []byte) bool { return globMatch(pat, s, false) }

// GlobMatchFold is GlobMatch ignoring case (COMMAND LIST FILTERBY PATTERN).
func GlobMatchFold(pat, s []byte) bool { return globMatch(pat, s, true) }
