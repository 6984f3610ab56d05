// @qiao/connector-rest: see issue 17; filled in by the connector's first commit.
export {};
