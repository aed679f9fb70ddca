package server

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/understudy/understudy/resp"
)

// Secrets: the default user's password (--requirepass, --requirepass-file),
// users in an ACL file (--aclfile) and the admin token (--admin-token,
// --admin-token-file). A secret read from a file loses its trailing
// newline, so `echo secret > file` works; files keep secrets out of the
// process list and the environment.

// secrets are the resolved values.
type secrets struct {
	users      *resp.Users
	adminToken string
}

// validateSecrets reports every problem with the secret settings, reading
// the files they name.
func (c *Config) validateSecrets() error {
	_, err := c.loadSecrets()
	return err
}

// loadSecrets reads the secret files and builds the user set.
func (c *Config) loadSecrets() (secrets, error) {
	var sec secrets
	var errs []error
	pass, err := secretSetting("--requirepass", c.RequirePass, "--requirepass-file", c.RequirePassFile)
	if err != nil {
		errs = append(errs, err)
	}
	sec.adminToken, err = secretSetting("--admin-token", c.AdminToken, "--admin-token-file", c.AdminTokenFile)
	if err != nil {
		errs = append(errs, err)
	}
	var users []*resp.User
	if c.ACLFile != "" {
		users, err = readACLFile(c.ACLFile)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		sec.users, err = resp.NewUsers(pass, users)
		if err != nil {
			errs = append(errs, fmt.Errorf("--aclfile %s: %w", c.ACLFile, err))
		}
	}
	return sec, errors.Join(errs...)
}

// secretSetting is the value of a secret given either directly or in a
// file, not both.
func secretSetting(flag, value, fileFlag, path string) (string, error) {
	if path == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("%s and %s are exclusive: give the secret one way", flag, fileFlag)
	}
	return ReadSecretFile(fileFlag, path)
}

// ReadSecretFile reads a secret from path, without its trailing newline;
// errors name the flag and the file. An empty secret is refused: it would
// silently turn the protection off.
func ReadSecretFile(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s %s: the file is empty", flag, path)
	}
	return s, nil
}

func readACLFile(path string) ([]*resp.User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--aclfile: %w", err)
	}
	defer f.Close()
	users, err := resp.ParseACL(f, path)
	if err != nil {
		return nil, fmt.Errorf("--aclfile: %w", err)
	}
	return users, nil
}
