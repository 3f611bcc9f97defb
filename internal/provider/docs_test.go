package provider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// TestDocsMatchSchema: every attribute's description, as the provider's
// schema says it, is in the page of docs/resources or docs/data-sources
// that a user reads (the pages are generated from the schema by
// gen-docs.sh; this fails when a description changed without them).
func TestDocsMatchSchema(t *testing.T) {
	ctx := context.Background()
	p := New("test")()
	docs := func(dir, typeName string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", dir, strings.TrimPrefix(typeName, "sym_")+".md"))
		if err != nil {
			t.Fatalf("%s has no page: %v", typeName, err)
		}
		return string(b)
	}
	check := func(typeName, page string, descs map[string]string) {
		t.Helper()
		for name, desc := range descs {
			if desc == "" {
				t.Errorf("%s.%s has no description", typeName, name)
				continue
			}
			if !strings.Contains(page, "`"+name+"`") || !strings.Contains(page, desc) {
				t.Errorf("the page of %s does not say what the schema says of %s: %q (run go generate ./internal/provider)", typeName, name, desc)
			}
		}
	}
	for _, newResource := range p.Resources(ctx) {
		r := newResource()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "sym"}, &meta)
		var sch resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &sch)
		descs := map[string]string{}
		collectResourceDescriptions(sch.Schema.Attributes, sch.Schema.Blocks, descs)
		check(meta.TypeName, docs("resources", meta.TypeName), descs)
	}
	for _, newDataSource := range p.DataSources(ctx) {
		s := newDataSource()
		var meta datasource.MetadataResponse
		s.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: "sym"}, &meta)
		var sch datasource.SchemaResponse
		s.Schema(ctx, datasource.SchemaRequest{}, &sch)
		descs := map[string]string{}
		for name, a := range sch.Schema.Attributes {
			descs[name] = a.(dsschema.Attribute).GetDescription()
		}
		check(meta.TypeName, docs("data-sources", meta.TypeName), descs)
	}
}

func collectResourceDescriptions(attrs map[string]schema.Attribute, blocks map[string]schema.Block, out map[string]string) {
	for name, a := range attrs {
		out[name] = a.GetDescription()
	}
	for name, b := range blocks {
		out[name] = b.GetDescription()
		if lb, ok := b.(schema.ListNestedBlock); ok {
			collectResourceDescriptions(lb.NestedObject.Attributes, lb.NestedObject.Blocks, out)
		}
	}
}
