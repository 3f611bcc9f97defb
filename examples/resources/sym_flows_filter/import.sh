# By the organisation's slug (an organisation has one flows filter).
terraform import sym_flows_filter.this my-org
