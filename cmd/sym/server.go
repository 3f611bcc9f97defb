package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/opensym/sym/internal/server"
	"github.com/opensym/sym/internal/store"
	"github.com/spf13/cobra"
)

func init() {
	var db, listen, org, logFormat string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the sym server (HTTP API, engine, de-escalation timer)",
		Long: `Run the sym server.

It keeps its state in a SQLite file (--db), serves the API on --listen
(loopback by default) and reaches AWS through the SDK's default credential
chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, instance roles, ...; AWS_ENDPOINT_URL
points it at an emulator). SYM_ADMIN_TOKEN, when set, is accepted as an admin
bot token. SIGINT or SIGTERM shut it down gracefully; open grants are
reloaded from the database at the next start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h slog.Handler
			switch logFormat {
			case "json":
				h = slog.NewJSONHandler(os.Stderr, nil)
			case "text":
				h = slog.NewTextHandler(os.Stderr, nil)
			default:
				return usageError{fmt.Errorf("--log-format must be json or text")}
			}
			log := slog.New(h)
			token := os.Getenv("SYM_ADMIN_TOKEN")
			if token != "" && len(token) < 16 {
				return usageError{fmt.Errorf("SYM_ADMIN_TOKEN is shorter than 16 characters; use a long random value")}
			}
			inst, err := server.Start(context.Background(), server.Options{DB: db, Listen: listen, Org: org, AdminToken: token, Log: log})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sym server listening on %s (database %s)\n", inst.URL, db)
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
			select {
			case s := <-sig:
				log.Info("shutting down", "signal", s.String())
			case err := <-inst.Done():
				if err != nil {
					return err
				}
			}
			sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			return inst.Shutdown(sctx)
		},
	}
	cmd.Flags().StringVar(&db, "db", store.DefaultPath(), "SQLite database file (created on first start)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8420", "address to serve the API on")
	cmd.Flags().StringVar(&org, "org", "default", "organisation name the Terraform provider's org must match")
	cmd.Flags().StringVar(&logFormat, "log-format", "json", "log format: json or text")
	root.AddCommand(cmd)
}
