package awsauth

import "github.com/aws/aws-sdk-go-v2/aws"

func awsConfigNowhere() aws.Config { return aws.Config{Region: "us-east-1"} }
