# By destination or by id.
terraform import sym_error_logger.slack "#sym-errors"
