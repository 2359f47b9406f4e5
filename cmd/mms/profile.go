package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// A CLI profile holds the API URL, token and tenant of one installation, as
// the Temporal CLI's profiles hold a cluster's address and credentials, so
// an admin does not retype them. The admin verbs take them from the
// profile named by --profile (MMS_PROFILE), else the current one; a flag or
// an MMS_* variable wins over the profile.

// profile is one installation's connection.
type profile struct {
	APIURL string `json:"apiUrl,omitempty"`
	Token  string `json:"token,omitempty"`
	Tenant string `json:"tenant,omitempty"`
}

// profiles is the file: the profiles by name and the current one.
type profiles struct {
	Current  string             `json:"current,omitempty"`
	Profiles map[string]profile `json:"profiles"`
}

// profilesPath is the file, under the user's configuration directory
// (MMS_CONFIG_DIR replaces that directory, for tests and odd setups).
func profilesPath() (string, error) {
	dir := os.Getenv("MMS_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("profiles: %w", err)
		}
		dir = filepath.Join(base, "mms")
	}
	return filepath.Join(dir, "profiles.json"), nil
}

func loadProfiles() (profiles, string, error) {
	p := profiles{Profiles: map[string]profile{}}
	path, err := profilesPath()
	if err != nil {
		return p, "", err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, path, nil
	} else if err != nil {
		return p, path, err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, path, fmt.Errorf("%s: %w", path, err)
	}
	if p.Profiles == nil {
		p.Profiles = map[string]profile{}
	}
	return p, path, nil
}

// save writes the file 0600: it holds tokens.
func (p profiles) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // an older file's mode does not carry over
		return err
	}
	return os.Rename(tmp, path)
}

// activeProfile is the profile the admin verbs use: name, else
// MMS_PROFILE, else the current one; none at all is the zero profile.
func activeProfile(name string) (profile, error) {
	p, path, err := loadProfiles()
	if err != nil {
		return profile{}, err
	}
	if name == "" {
		name = os.Getenv("MMS_PROFILE")
	}
	if name == "" {
		name = p.Current
	}
	if name == "" {
		return profile{}, nil
	}
	pr, ok := p.Profiles[name]
	if !ok {
		return profile{}, fmt.Errorf("profile %q: not in %s (mms profile list)", name, path)
	}
	return pr, nil
}

func profileCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Keep the API URL, token and tenant of an installation under a name (like the Temporal CLI's profiles)",
		Long: `A profile holds the API URL, token and tenant the admin verbs use, so they need not be
retyped. The verbs use the profile given by --profile (MMS_PROFILE), else the current one
(mms profile use); a flag or an MMS_* variable wins over it. The file is profiles.json under
the user's configuration directory (` + "`mms profile list`" + ` prints its path), mode 0600.`}
	var pr profile
	set := &cobra.Command{
		Use:   "set NAME [--api-url URL] [--token TOKEN] [--tenant ID]",
		Short: "Create or change a profile (the first one becomes current)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimSpace(args[0])
			if name == "" {
				return errors.New("the profile name must not be empty")
			}
			p, path, err := loadProfiles()
			if err != nil {
				return err
			}
			cur := p.Profiles[name]
			if cmd.Flags().Changed("api-url") {
				cur.APIURL = pr.APIURL
			}
			if cmd.Flags().Changed("token") {
				cur.Token = pr.Token
			}
			if cmd.Flags().Changed("tenant") {
				cur.Tenant = pr.Tenant
			}
			p.Profiles[name] = cur
			if p.Current == "" {
				p.Current = name
			}
			if err := p.save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "profile %s saved in %s\n", name, path)
			return nil
		},
	}
	set.Flags().StringVar(&pr.APIURL, "api-url", "", "API base URL")
	set.Flags().StringVar(&pr.Token, "token", "", "API token (kept in the file, mode 0600)")
	set.Flags().StringVar(&pr.Tenant, "tenant", "", "tenant ID")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the profiles (tokens are not shown); * marks the current one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, path, err := loadProfiles()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "# %s\n", path)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\tNAME\tAPI URL\tTENANT\tTOKEN")
			names := make([]string, 0, len(p.Profiles))
			for n := range p.Profiles {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				mark, tok := "", ""
				if n == p.Current {
					mark = "*"
				}
				if p.Profiles[n].Token != "" {
					tok = "set"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mark, esc(n), esc(p.Profiles[n].APIURL), esc(p.Profiles[n].Tenant), tok)
			}
			return tw.Flush()
		},
	}
	use := &cobra.Command{
		Use:   "use NAME",
		Short: "Make a profile the current one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, path, err := loadProfile(args[0])
			if err != nil {
				return err
			}
			p.Current = args[0]
			if err := p.save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "profile %s is current\n", args[0])
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a profile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, path, err := loadProfile(args[0])
			if err != nil {
				return err
			}
			delete(p.Profiles, args[0])
			if p.Current == args[0] {
				p.Current = ""
			}
			if err := p.save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "profile %s deleted\n", args[0])
			return nil
		},
	}
	for _, c := range []*cobra.Command{use, del} {
		c.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			p, _, _ := loadProfiles()
			names := make([]string, 0, len(p.Profiles))
			for n := range p.Profiles {
				names = append(names, n)
			}
			slices.Sort(names)
			return names, cobra.ShellCompDirectiveNoFileComp
		}
	}
	cmd.AddCommand(set, list, use, del)
	return cmd
}

// loadProfile loads the profiles file, refusing a name it does not hold
// (for the verbs that act on one existing profile: use, delete).
func loadProfile(name string) (profiles, string, error) {
	p, path, err := loadProfiles()
	if err != nil {
		return p, path, err
	}
	if _, ok := p.Profiles[name]; !ok {
		return p, path, fmt.Errorf("profile %q: not in %s", name, path)
	}
	return p, path, nil
}
