// Command terraform-provider-sym is the Terraform provider for a self-hosted
// sym server. Terraform starts it; it is not meant to be run by hand.
package main

import (
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/opensym/sym/internal/provider"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	debug := flag.Bool("debug", false, "run the provider for a debugger (prints TF_REATTACH_PROVIDERS)")
	flag.Parse()
	var opts []tf6server.ServeOpt
	if *debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	if err := tf6server.Serve("registry.terraform.io/opensym/sym", provider.ProtocolServer(version), opts...); err != nil {
		log.Fatal(err)
	}
}
