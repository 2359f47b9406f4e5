package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// exitNotReplaced is preview's status when the engine would not replace the block.
const exitNotReplaced = 3

func previewCommand() *cobra.Command {
	var bodyFile, profileFile, format, target, locale string
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "Show what a migration would make of a meeting body (new body on stdout, outcome on stderr)",
		Long: `Runs the block engine on a body, offline. Exit status: 0 when the block would be
replaced or is already up to date, 3 when it would not be replaced (the reason is printed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := os.ReadFile(bodyFile)
			if err != nil {
				return fmt.Errorf("--body: %w", err)
			}
			raw, err := os.ReadFile(profileFile)
			if err != nil {
				return fmt.Errorf("--profile: %w", err)
			}
			var p meetingblock.Profile
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				return fmt.Errorf("--profile %s: %w", profileFile, err)
			}
			if locale != "" {
				if _, err := meetingblock.ParseLocale(locale); err != nil {
					return fmt.Errorf("--locale: %w", err)
				}
				p.Locale = locale
			}
			if err := p.Validate(); err != nil {
				return fmt.Errorf("--profile %s: %w", profileFile, err)
			}
			f := meetingblock.Format(format)
			if f != meetingblock.FormatHTML && f != meetingblock.FormatText && f != meetingblock.FormatICal {
				return fmt.Errorf("--format: must be html, text or ical, not %q", format)
			}
			t := migration.Target(target)
			if t != migration.TargetCurrent && t != migration.TargetTeams {
				return fmt.Errorf("--target: must be Current or Teams, not %q", target)
			}
			res := meetingblock.Replace(string(body), f, p, t)
			fmt.Fprint(cmd.OutOrStdout(), res.Body)
			msg := string(res.Outcome)
			if res.Reason != "" {
				msg += ": " + res.Reason
			}
			if res.Language != "" {
				msg += " (language " + res.Language + ": " + res.LanguageReason + ")"
			}
			fmt.Fprintln(cmd.ErrOrStderr(), msg)
			if res.Outcome == meetingblock.NotReplaced {
				return exitError{code: exitNotReplaced, err: errSilent} // the reason is printed above
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&bodyFile, "body", "", "file holding the meeting body (required)")
	cmd.Flags().StringVar(&profileFile, "profile", "", "conferencing profile JSON file (required)")
	cmd.Flags().StringVar(&format, "format", "html", "body format: html, text or ical")
	cmd.Flags().StringVar(&target, "target", "Current", "Current keeps the meeting's kind; Teams converts a Skype block")
	cmd.Flags().StringVar(&locale, "locale", "", "render the block in this language (BCP 47, e.g. fr-FR), overriding the profile's locale")
	_ = cmd.MarkFlagRequired("body")
	_ = cmd.MarkFlagRequired("profile")
	return cmd
}
