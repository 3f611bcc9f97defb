# The flow's code, in the shape of the Sym SDK's approval template.
#
# sym server applies the same rules from the flow's vars (approvers,
# allow_self_approval, max_duration, request_timeout), so changing them in
# Terraform changes the flow; this file travels with the flow as its
# implementation and documents the decisions it makes.

from sym.sdk.annotations import hook, reducer
from sym.sdk.templates import ApprovalTemplate


@reducer
def get_approvers(event):
    """Who may approve: the flow's approvers, or anyone but the requester."""
    approvers = [a.strip() for a in event.flow.vars.get("approvers", "").split(",") if a.strip()]
    allow_self = event.flow.vars.get("allow_self_approval", "false") == "true"
    return {"emails": approvers, "allow_self": allow_self}


@hook
def on_approve(event):
    """Nobody approves their own request unless the flow allows it."""
    allow_self = event.flow.vars.get("allow_self_approval", "false") == "true"
    if not allow_self and event.user.email == event.get_actor("request").email:
        return ApprovalTemplate.ignore(message="You cannot approve your own request.")
