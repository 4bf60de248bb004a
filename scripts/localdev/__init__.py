"""Local stand-ins for the cloud: a Cognito-compatible issuer and a JWT-secured gateway."""
