// Package examples carries the example Terraform projects inside the sym
// binary; `sym generate` renders them (see internal/generate).
package examples

import "embed"

// AWSIAMQuickstart is examples/aws-iam-quickstart, file by file. The patterns
// name the kinds of files the example is made of, so that Terraform's
// working files (.terraform/, state, terraform.tfvars) never get into the
// binary even when someone has run Terraform in the example.
//
//go:embed aws-iam-quickstart/*.md aws-iam-quickstart/.gitignore
//go:embed aws-iam-quickstart/environments/*/*.tf aws-iam-quickstart/environments/*/*.example
//go:embed aws-iam-quickstart/modules/*/*.tf aws-iam-quickstart/modules/*/*.py aws-iam-quickstart/modules/*/*.md
var AWSIAMQuickstart embed.FS

// AWSSSOQuickstart is examples/aws-sso-quickstart, file by file (the same
// kinds of files as AWSIAMQuickstart).
//
//go:embed aws-sso-quickstart/*.md aws-sso-quickstart/.gitignore
//go:embed aws-sso-quickstart/environments/*/*.tf aws-sso-quickstart/environments/*/*.example
//go:embed aws-sso-quickstart/modules/*/*.tf aws-sso-quickstart/modules/*/*.py
var AWSSSOQuickstart embed.FS

// AWSLambdaQuickstart is examples/aws-lambda-quickstart, file by file.
//
//go:embed aws-lambda-quickstart/*.md aws-lambda-quickstart/.gitignore
//go:embed aws-lambda-quickstart/environments/*/*.tf aws-lambda-quickstart/environments/*/*.example
//go:embed aws-lambda-quickstart/modules/*/*.tf aws-lambda-quickstart/modules/*/*.py
var AWSLambdaQuickstart embed.FS
