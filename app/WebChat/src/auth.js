// Sign-in with the Cognito hosted UI (Managed Login): authorization code + PKCE (S256) through
// oidc-client-ts. Tokens are kept in memory only: a reload or a new tab means signing in again
// (the hosted UI's own session cookie usually makes that one click). The only thing written to
// sessionStorage is oidc-client-ts's short-lived sign-in request (state + PKCE verifier), which
// must survive the redirect to the hosted UI and is removed when the app comes back.
import { InMemoryWebStorage, UserManager, WebStorageStateStore } from "oidc-client-ts";

/** The UserManager for a config.json ({issuer, clientId, domain, scope, ...}). */
export function createUserManager(config) {
  const appUrl = config.redirectUri || `${window.location.origin}/`;
  const domain = config.domain.replace(/\/+$/, "");
  return new UserManager({
    authority: config.issuer,
    client_id: config.clientId,
    redirect_uri: appUrl,
    post_logout_redirect_uri: config.logoutUri || appUrl,
    response_type: "code",
    response_mode: "query",
    scope: config.scope || "openid profile",
    // Cognito's discovery document names neither of these; both live on the hosted-UI domain.
    metadataSeed: {
      revocation_endpoint: `${domain}/oauth2/revoke`,
      end_session_endpoint: `${domain}/logout`,
    },
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage, prefix: "webchat.signin." }),
    staleStateAgeInSeconds: 600,
    loadUserInfo: false,
    monitorSession: false,
    // Refresh with the refresh token before the access token expires; a rotated refresh token
    // in the answer replaces the old one.
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: config.refreshSecondsBeforeExpiry ?? 60,
    revokeTokenTypes: ["refresh_token"],
  });
}

/** Sign-out: revoke the refresh token, forget the user, end the hosted-UI session. */
export async function signOut(manager, config) {
  try {
    await manager.revokeTokens(["refresh_token"]);
  } catch {
    // Revocation is best effort: the user is signed out of this page either way.
  }
  await manager.removeUser();
  const logout = new URL(`${config.domain.replace(/\/+$/, "")}/logout`);
  logout.searchParams.set("client_id", config.clientId);
  logout.searchParams.set("logout_uri", config.logoutUri || `${window.location.origin}/`);
  window.location.assign(logout.toString());
}

/** The name to show for a signed-in user. */
export function displayName(user) {
  const profile = user?.profile || {};
  return profile["cognito:username"] || profile.preferred_username || profile.email || profile.sub || "";
}
