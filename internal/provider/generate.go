package provider

// The documentation of every resource and data source under docs/ comes from
// the schema's descriptions and examples/, through tfplugindocs.
//go:generate ./gen-docs.sh
