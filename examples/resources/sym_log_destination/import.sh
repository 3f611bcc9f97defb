# By id, or TYPE:VALUE where VALUE is one of its settings (the stream name, the URL).
terraform import sym_log_destination.audit kinesis_firehose:sym-audit-prod
