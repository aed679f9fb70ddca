package fsm

// A node over its memory limit refuses the commands Redis flags "denyoom"
// (Command.DenyOOM, from the reference table): writes that may grow memory.
// Deleting, popping and metadata changes stay allowed, so an operator can
// free space. PUBLISH is not refused, as in Redis: a message is not kept once
// delivered. EXEC is checked per queued command, when it is queued, as Redis
// does.
