from sym.sdk.annotations import reducer


@reducer
def get_flows(user, flows):
    return [f for f in flows if f.name != "approval_only" or user.is_admin]
