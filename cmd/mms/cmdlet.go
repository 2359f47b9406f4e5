package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openmms/mms/internal/migration"
)

// The CLI as an admin who knows the cmdlets expects it (issue 21, item 5):
// the user positional as -Identity is, the cmdlets' parameter names as
// aliases, examples in every help, and the commands in groups.

// Command groups, in the order the help lists them.
const (
	groupService    = "service"
	groupMigrations = "migrations"
	groupConfig     = "configuration"
	groupTools      = "tools"
)

// commandGroups says where each top-level command is listed.
var commandGroups = map[string]string{
	"dev": groupService, "worker": groupService, "api": groupService, "temporal": groupService, "token": groupService,
	"start": groupMigrations, "status": groupMigrations, "cancel": groupMigrations, "retry": groupMigrations,
	"event":  groupMigrations,
	"config": groupConfig, "profile": groupConfig, "tenant": groupConfig, "user": groupConfig,
	"preview": groupTools, "sandbox": groupTools, "bench": groupTools, "version": groupTools,
}

// groupCommands puts root's commands (cobra's help and completion too) in
// their groups.
func groupCommands(root *cobra.Command) {
	root.AddGroup(&cobra.Group{ID: groupService, Title: "Service (run mms):"},
		&cobra.Group{ID: groupMigrations, Title: "Migrations (the cmdlets' verbs):"},
		&cobra.Group{ID: groupConfig, Title: "Configuration:"},
		&cobra.Group{ID: groupTools, Title: "Tools:"})
	for _, c := range root.Commands() {
		if g, ok := commandGroups[c.Name()]; ok {
			c.GroupID = g
		}
	}
	root.SetHelpCommandGroupID(groupTools)
	root.SetCompletionCommandGroupID(groupTools)
}

// cmdletFlags maps the cmdlets' parameter names, written as flags, to mms's
// flags: `--identity` is `--user`, `--summary-only` is `--summary`... Keys
// are lower case without dashes, so `--SummaryOnly` works as a PowerShell
// user would type it.
var cmdletFlags = map[string]string{
	"identity":          "user",
	"starttime":         "start",
	"endtime":           "end",
	"summaryonly":       "summary",
	"sourcemeetingtype": "source",
	"targetmeetingtype": "target",
	"migrationtype":     "type",
}

// cmdletNames normalises a flag name given in the cmdlets' spelling to
// mms's own; other names are left as they are.
func cmdletNames(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	if to, ok := cmdletFlags[strings.ToLower(strings.ReplaceAll(name, "-", ""))]; ok {
		return pflag.NormalizedName(to)
	}
	return pflag.NormalizedName(name)
}

// userArg takes the user given as the positional argument (the cmdlets'
// -Identity, which is positional too) into *user, or leaves the --user
// flag's; both at once must agree.
func userArg(cmd *cobra.Command, args []string, user *string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.Flags().Changed("user") && *user != args[0] {
		return fmt.Errorf("the user is given twice: %q and --user %q", args[0], *user)
	}
	*user = args[0]
	return nil
}

// completeValues offers fixed values for a flag in shell completion.
func completeValues(cmd *cobra.Command, flag string, values ...string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	})
}

func states() []string {
	return []string{string(migration.StatePending), string(migration.StateInProgress), string(migration.StateSucceeded),
		string(migration.StateFailed)}
}

func types() []string {
	return []string{string(migration.TypeSfbToTeams), string(migration.TypeTeamsToTeams), string(migration.TypeToSameType),
		string(migration.TypeAllToTeams)}
}

// examples are each command's Examples, by command path.
var examples = map[string]string{
	"mms": `  make run                                   # mms dev: everything on this machine
  mms status alice@contoso.com --tenant contoso
  mms completion bash > /etc/bash_completion.d/mms`,
	"mms dev": `  mms dev
  mms dev --calendar graph-emulator --graph-latency 50ms
  mms dev --temporal-address 127.0.0.1:7233  # use a running 'temporal server start-dev'`,
	"mms worker": `  TEMPORAL_ADDRESS=temporal:7233 MMS_DATABASE=/var/lib/mms/mms.db mms worker
  mms worker --temporal-address temporal:7233 --namespace mms --calendars calendars.yaml`,
	"mms api": `  mms api --addr 0.0.0.0:8080 --temporal-address temporal:7233
  MMS_DATABASE=/var/lib/mms/mms.db TEMPORAL_API_KEY=... mms api`,
	"mms temporal": `  mms temporal --data-dir /data --temporal-address 0.0.0.0:7233
  mms temporal --temporal-tls-cert server.pem --temporal-tls-key server-key.pem --temporal-tls-ca ca.pem`,
	"mms tenant": `  mms tenant create contoso --display-name "Contoso"
  mms tenant list
  mms tenant delete contoso`,
	"mms tenant create": `  mms token create --name ops --role service-admin   # a token bound to no tenant
  mms tenant create contoso --display-name "Contoso"`,
	"mms tenant list": `  mms tenant list
  mms tenant list --api-url https://mms.example.com`,
	"mms tenant delete": `  mms tenant delete contoso   # cancels its running migrations, then purges its data`,
	"mms user":          `  mms user import users.csv --tenant contoso --dry-run`,
	"mms user import": `  # In Teams PowerShell: Get-CsOnlineDialInConferencingUser | Export-Csv users.csv
  mms user import users.csv --tenant contoso --dry-run   # what would change, per row
  mms user import users.csv --tenant contoso`,
	"mms version": `  mms version
  mms version --verbose   # the build, and how many TLS trust roots (the embedded bundle in a FROM scratch image)`,
	"mms token": `  mms token create --name ops --role operator`,
	"mms token create": `  mms token create --name ops --role operator
  mms token create --name provisioning --tenant contoso --role upstream`,
	"mms token revoke": `  mms token revoke --name ops --tenant contoso
  mms token revoke --name ops --all-tenants`,
	"mms start": `  mms start alice@contoso.com                          # Start-CsExMeetingMigration -Identity alice@contoso.com
  mms start alice@contoso.com --target-meeting-type Teams
  mms start --user alice@contoso.com --source SfB --dry-run`,
	"mms status": `  mms status                                           # Get-CsMeetingMigrationStatus
  mms status --summary-only                            # -SummaryOnly
  mms status --state Failed --start-time 2026-12-01T00:00:00Z -o csv
  mms status alice@contoso.com --watch                 # -Identity, followed to its end`,
	"mms cancel": `  mms cancel alice@contoso.com --reason "wrong bridge"`,
	"mms retry":  `  mms retry alice@contoso.com`,
	"mms config": `  mms config get
  mms config set --meeting-migration-enabled=false`,
	"mms config get": `  mms config get --tenant contoso -o json`,
	"mms config set": `  mms config set --meeting-migration-enabled=true   # Set-CsTenantMigrationConfiguration
  mms config set --quiet-period 900`,
	"mms event": `  mms event post --type conferenceIdChanged --user alice@contoso.com --conference-id 4455667
  mms event list --user alice@contoso.com`,
	"mms event post": `  mms event post --type conferenceIdChanged --user alice@contoso.com --conference-id 4455667
  mms event post -f events.json`,
	"mms event list": `  mms event list --user alice@contoso.com --limit 20`,
	"mms profile": `  mms profile set prod --api-url https://mms.example.com --tenant contoso --token "$TOKEN"
  mms profile use prod`,
	"mms profile set": `  mms profile set prod --api-url https://mms.example.com --tenant contoso --token "$TOKEN"
  mms profile set prod --tenant fabrikam               # change one field`,
	"mms profile list":   `  mms profile list`,
	"mms profile use":    `  mms profile use prod`,
	"mms profile delete": `  mms profile delete prod`,
	"mms preview":        `  mms preview --body invite.html --profile profile.json > new.html`,
	"mms sandbox":        `  mms sandbox seed --database .mms/mms.db`,
	"mms sandbox seed":   `  mms sandbox seed --database .mms/mms.db`,
	"mms bench":          `  mms bench --out bench.json`,
}

// addExamples sets every command's Examples from examples.
func addExamples(c *cobra.Command) {
	if ex, ok := examples[c.CommandPath()]; ok && c.Example == "" {
		c.Example = ex
	}
	for _, sub := range c.Commands() {
		addExamples(sub)
	}
}
