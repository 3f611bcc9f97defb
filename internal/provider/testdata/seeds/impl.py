from sym.sdk.annotations import reducer
from sym.sdk.integrations import slack


@reducer
def get_approvers(event):
    """Post the request in #sym-requests and let anyone there approve it."""
    return slack.channel("#sym-requests", allow_self=False)
