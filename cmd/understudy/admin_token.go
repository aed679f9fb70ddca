package main

import (
	"errors"

	"github.com/spf13/cobra"
	"github.com/understudy/understudy/server"
)

// tokenSources says which of --token and --token-file were given on the
// command line (before the environment fills the others in).
type tokenSources struct{ token, file bool }

func tokenFlagsGiven(cmd *cobra.Command) tokenSources {
	fs := cmd.Flags()
	return tokenSources{token: fs.Changed("token"), file: fs.Changed("token-file")}
}

// adminToken resolves the token to send: the command line wins over the
// environment, and the token given both ways at the same level is refused
// rather than one of them silently ignored.
func (f *adminFlags) adminToken(cli tokenSources) (string, error) {
	switch {
	case cli.token && cli.file:
		return "", errors.New("--token and --token-file are exclusive")
	case cli.token:
		return f.token, nil
	case cli.file:
		return server.ReadSecretFile("--token-file", f.tokenFile)
	case f.token != "" && f.tokenFile != "":
		return "", errors.New("UNDERSTUDY_ADMIN_TOKEN and UNDERSTUDY_ADMIN_TOKEN_FILE are both set: use one")
	case f.tokenFile != "":
		return server.ReadSecretFile("UNDERSTUDY_ADMIN_TOKEN_FILE", f.tokenFile)
	}
	return f.token, nil
}
