package model

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ReadInput reads what a requester gave for a prompt field, as the API
// (JSON text, a number, a bool or a list), the CLI, the web form and Slack
// send it, and returns it as a request stores it: an int in decimal, a
// bool "true" or "false", a list "a,b" (text "a,b" is a list too, as the
// CLI and the forms send one), anything else the text. A value that is not
// of the field's type, or not among its allowed values, is refused with
// the reason. Nothing given is "".
func (f PromptField) ReadInput(v any) (string, error) {
	if IsListType(f.Type) {
		return f.readList(v)
	}
	text, err := inputText(v)
	if err != nil || text == "" {
		return text, err
	}
	if text, err = readScalar(f.Type, text); err != nil {
		return "", err
	}
	if len(f.AllowedValues) > 0 && !slices.Contains(f.AllowedValues, text) {
		return "", fmt.Errorf("%q is not one of the flow's allowed values (%s)", text, strings.Join(f.AllowedValues, ", "))
	}
	return text, nil
}

func (f PromptField) readList(v any) (string, error) {
	var items []string
	switch t := v.(type) {
	case nil:
		return "", nil
	case []any:
		for _, item := range t {
			text, err := inputText(item)
			if err != nil {
				return "", errors.New("has an item that is not text, a number or true/false")
			}
			if strings.Contains(text, ",") {
				return "", fmt.Errorf("has the item %q with a comma: a comma separates items", text)
			}
			items = append(items, text)
		}
	default:
		text, err := inputText(v)
		if err != nil {
			return "", errors.New("must be a list, or text with its items separated by commas")
		}
		items = strings.Split(text, ",")
	}
	var out []string
	for _, item := range items {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if f.Type == "int_list" {
			n, err := readScalar("int", item)
			if err != nil {
				return "", fmt.Errorf("has the item %q, which is not a whole number", item)
			}
			item = n
		}
		if len(f.AllowedValues) > 0 && !slices.Contains(f.AllowedValues, item) {
			return "", fmt.Errorf("has the item %q, which is not one of the flow's allowed values (%s)", item, strings.Join(f.AllowedValues, ", "))
		}
		out = append(out, item)
	}
	return strings.Join(out, ","), nil
}

// inputText is a JSON scalar as text: a number in plain decimal (1000000,
// never 1e+06), a bool true or false.
func inputText(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(t), nil
	}
	return "", errors.New("must be text, a number or true/false")
}

func readScalar(typ, text string) (string, error) {
	switch typ {
	case "int":
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return "", fmt.Errorf("must be a whole number, not %q", text)
		}
		return strconv.FormatInt(n, 10), nil
	case "bool":
		b, err := strconv.ParseBool(text)
		if err != nil {
			return "", fmt.Errorf("must be true or false, not %q", text)
		}
		return strconv.FormatBool(b), nil
	}
	return text, nil
}

// Value is a stored field as a value of its type, as a strategy's payload
// carries it (the original passes fields typed): an int a number, a bool a
// bool, a list type a list (int_list of numbers), anything else the text.
// Text that does not read as its type (stored before types were checked)
// stays text.
func (f PromptField) Value(text string) any {
	if IsListType(f.Type) {
		items := []any{}
		for _, item := range strings.Split(text, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			if n, err := strconv.ParseInt(item, 10, 64); err == nil && f.Type == "int_list" {
				items = append(items, n)
			} else {
				items = append(items, item)
			}
		}
		return items
	}
	switch f.Type {
	case "int":
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	case "bool":
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	}
	return text
}
