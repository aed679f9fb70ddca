package fsm

// deque is a ring buffer of strings; its capacity is a power of two.
type deque struct {
	buf  []string
	head int
	n    int
}

func (d *deque) at(i int) string     { return d.buf[(d.head+i)&(len(d.buf)-1)] }
func (d *deque) set(i int, s string) { d.buf[(d.head+i)&(len(d.buf)-1)] = s }

func (d *deque) resize(size int) {
	buf := make([]string, size)
	for i := range d.n {
		buf[i] = d.at(i)
	}
	d.buf, d.head = buf, 0
}

func (d *deque) pushBack(s string) {
	if d.n == len(d.buf) {
		d.resize(max(8, 2*len(d.buf)))
	}
	d.buf[(d.head+d.n)&(len(d.buf)-1)] = s
	d.n++
}

func (d *deque) pushFront(s string) {
	if d.n == len(d.buf) {
		d.resize(max(8, 2*len(d.buf)))
	}
	d.head = (d.head - 1) & (len(d.buf) - 1)
	d.buf[d.head] = s
	d.n++
}

func (d *deque) popFront() string {
	s := d.buf[d.head]
	d.buf[d.head] = ""
	d.head = (d.head + 1) & (len(d.buf) - 1)
	d.n--
	d.maybeShrink()
	return s
}

func (d *deque) popBack() string {
	i := (d.head + d.n - 1) & (len(d.buf) - 1)
	s := d.buf[i]
	d.buf[i] = ""
	d.n--
	d.maybeShrink()
	return s
}

func (d *deque) maybeShrink() {
	if len(d.buf) > 64 && d.n < len(d.buf)/4 {
		d.resize(len(d.buf) / 2)
	}
}

func (d *deque) items() []string {
	out := make([]string, d.n)
	for i := range out {
		out[i] = d.at(i)
	}
	return out
}

func (d *deque) clone() deque {
	n := deque{n: d.n}
	if d.n > 0 {
		size := 8
		for size < d.n {
			size *= 2
		}
		n.buf = make([]string, size)
		for i := range d.n {
			n.buf[i] = d.at(i)
		}
	}
	return n
}
