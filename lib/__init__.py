"""What every app needs and no app owns: error types, the API's error envelope, the JSON
parser, the one HTTP helper. It imports no app (healthchecks keeps the like in ``hc/lib``)."""
