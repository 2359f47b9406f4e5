package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
)

// tenantConfig is the tenant's switches as the two cmdlets show them.
type tenantConfig struct {
	MigrationConfiguration     api.MigrationConfigurationView `json:"migrationConfiguration"`
	DialInConferencingSettings api.DialInConferencingSettings `json:"dialInConferencingSettings"`
}

const (
	migrationConfigRoute = "migration-configuration"
	dialInRoute          = "dial-in-conferencing-settings"
)

func configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or change the tenant's migration switches",
		Long: `Show or change the tenant's migration switches, as
Get/Set-CsTenantMigrationConfiguration (MeetingMigrationEnabled, plus
QuietPeriodSeconds and ParticipantLimit) and
Get/Set-CsOnlineDialInConferencingTenantSettings
(AutomaticallyMigrateUserMeetings, AutomaticallyReplaceAcpProvider).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(configGetCommand(), configSetCommand())
	return cmd
}

func configGetCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Print the tenant's switches (Get-CsTenantMigrationConfiguration, Get-CsOnlineDialInConferencingTenantSettings)",
		Long: `Print the tenant's switches in one table; -o json prints both objects.

Exit status: 0 ok; 1 a usage or local error; 2 the API refused or is unreachable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := af.check(); err != nil {
				return err
			}
			var tc tenantConfig
			if err := af.call(http.MethodGet, af.tenantPath(migrationConfigRoute), nil, &tc.MigrationConfiguration); err != nil {
				return err
			}
			if err := af.call(http.MethodGet, af.tenantPath(dialInRoute), nil, &tc.DialInConferencingSettings); err != nil {
				return err
			}
			return af.print(cmd, tc, func(w io.Writer) error { return printConfig(w, tc) })
		},
	}
	af.register(cmd)
	return cmd
}

// configFlags names config set's flags, in the order of the table.
var configFlags = []string{"meeting-migration-enabled", "quiet-period", "participant-limit",
	"automatically-migrate-user-meetings", "automatically-replace-acp-provider", "default-language",
	"maintenance-window", "notification-budget", "organizer-meetings-per-hour", "organizer-recipients-per-day"}

func configSetCommand() *cobra.Command {
	var af apiFlags
	var enabled, autoMigrate, replaceAcp bool
	var quiet, limit int
	var defaultLang string
	var flood floodFlags
	var preview bool
	cmd := &cobra.Command{
		Use: "set [--meeting-migration-enabled=BOOL] [--quiet-period N] [--participant-limit N] " +
			"[--automatically-migrate-user-meetings=BOOL] [--automatically-replace-acp-provider=BOOL]",
		Short: "Change some of the tenant's switches (Set-CsTenantMigrationConfiguration, Set-CsOnlineDialInConferencingTenantSettings)",
		Long: `Change the switches given; the others keep their value. Then print the
resulting settings, as config get does.

Flood control: --maintenance-window "Mon-Fri 20:00-06:00 Europe/Paris" sends
updates only then (an end before the start closes the next morning; "none"
removes it); --notification-budget N caps the tenant's attendee notifications
per hour, --organizer-meetings-per-hour N the meetings one organizer's run
updates per hour ("none" removes either; 0 is refused: turn
--meeting-migration-enabled off to stop migrations);
--organizer-recipients-per-day N caps one organizer's recipients a day
("default": 10000, Exchange Online's recipient rate limit).

With --preview nothing changes: mms prints each setting that would change,
and whether the change would queue migrations (none does: the switches
apply to the changes that arrive after them).

Exit status: 0 ok; 1 a usage or local error (no flag given, say); 2 the API
refused (an invalid value: the message names the field) or is unreachable.
The migration configuration is sent first, so a value it refuses leaves the
dial-in settings unchanged too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			changed := func(name string) bool { return f.Changed(name) }
			given := false
			for _, name := range configFlags {
				given = given || changed(name)
			}
			if !given {
				return errors.New("config set: nothing to set; give one or more of --" + strings.Join(configFlags, ", --"))
			}
			if err := af.check(); err != nil {
				return err
			}
			var mc api.MigrationConfiguration
			if changed("meeting-migration-enabled") {
				mc.MeetingMigrationEnabled = &enabled
			}
			if changed("quiet-period") {
				mc.QuietPeriodSeconds = &quiet
			}
			if changed("participant-limit") {
				mc.ParticipantLimit = &limit
			}
			if changed("default-language") {
				mc.DefaultLanguage = &defaultLang
			}
			if err := flood.apply(changed, &mc); err != nil {
				return err
			}
			var dc api.DialInConferencingSettings
			if changed("automatically-migrate-user-meetings") {
				dc.AutomaticallyMigrateUserMeetings = &autoMigrate
			}
			if changed("automatically-replace-acp-provider") {
				dc.AutomaticallyReplaceAcpProvider = &replaceAcp
			}
			if preview {
				return previewConfig(cmd, af, mc, dc)
			}
			var tc tenantConfig
			method := http.MethodGet
			var body any
			if mc != (api.MigrationConfiguration{}) {
				method, body = http.MethodPut, mc
			}
			if err := af.call(method, af.tenantPath(migrationConfigRoute), body, &tc.MigrationConfiguration); err != nil {
				return err
			}
			method, body = http.MethodGet, nil
			if dc != (api.DialInConferencingSettings{}) {
				method, body = http.MethodPut, dc
			}
			if err := af.call(method, af.tenantPath(dialInRoute), body, &tc.DialInConferencingSettings); err != nil {
				return err
			}
			return af.print(cmd, tc, func(w io.Writer) error { return printConfig(w, tc) })
		},
	}
	af.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&enabled, "meeting-migration-enabled", true, "MeetingMigrationEnabled: off stops every automatic migration of the tenant")
	f.IntVar(&quiet, "quiet-period", 0, "QuietPeriodSeconds: wait this long for further changes before a triggered run (0-86400)")
	f.IntVar(&limit, "participant-limit", 0, "ParticipantLimit: meetings with more participants are skipped (1-100000)")
	f.StringVar(&defaultLang, "default-language", "", "DefaultLanguage: block language (e.g. fr-FR) when neither the organizer's locale nor the old block names one; empty is en-US")
	f.BoolVar(&autoMigrate, "automatically-migrate-user-meetings", true, "AutomaticallyMigrateUserMeetings: audio-conferencing changes trigger migrations")
	f.BoolVar(&replaceAcp, "automatically-replace-acp-provider", true, "AutomaticallyReplaceAcpProvider: a switch from a third-party provider to Microsoft replaces its blocks")
	flood.register(cmd)
	f.BoolVar(&preview, "preview", false, "print what would change, and the migrations it would queue, without changing anything")
	return cmd
}

func printConfig(w io.Writer, tc tenantConfig) error {
	b := func(p *bool) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	str := func(p *string) string {
		if p == nil || *p == "" {
			return "-"
		}
		return *p
	}
	n := func(p *int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	const mcCmdlet, dcCmdlet = "Get-CsTenantMigrationConfiguration", "Get-CsOnlineDialInConferencingTenantSettings"
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tCMDLET")
	m, d := tc.MigrationConfiguration, tc.DialInConferencingSettings
	for _, r := range [][3]string{
		{"MeetingMigrationEnabled", b(m.MeetingMigrationEnabled), mcCmdlet},
		{"QuietPeriodSeconds", n(m.QuietPeriodSeconds), mcCmdlet},
		{"ParticipantLimit", n(m.ParticipantLimit), mcCmdlet},
		{"DefaultLanguage", str(m.DefaultLanguage), "mms"},
		{"AutomaticallyMigrateUserMeetings", b(d.AutomaticallyMigrateUserMeetings), dcCmdlet},
		{"AutomaticallyReplaceAcpProvider", b(d.AutomaticallyReplaceAcpProvider), dcCmdlet},
		{"MaintenanceWindow", windowText(m.MaintenanceWindow), "mms"},
		{"NotificationBudgetPerHour", n(m.NotificationBudgetPerHour), "mms"},
		{"OrganizerMeetingsPerHour", n(m.OrganizerMeetingsPerHour), "mms"},
		{"OrganizerRecipientsPerDay", fmt.Sprint(m.OrganizerRecipientsPerDay), "mms"},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], esc(r[1]), r[2])
	}
	return tw.Flush()
}
