/**
 * Test helpers other workspaces' tests share (`@marquee/commerce/testing`): the setup that
 * commerce's own rules tests, the storefront's page tests and the cross-workspace tests in e2e/
 * each wrote out by hand: a signed-up user opening a seller account, and a seller's title with
 * its prices. Only the public Commerce API is used, so a helper sets up nothing a real seller
 * could not.
 */
import type { SignedIn, Viewer } from "./accounts.ts";
import type { Commerce } from "./commerce.ts";
import type { OfferInput, TitleDraft } from "./selling.ts";

/**
 * Opens a seller account for `user` and returns the viewer as its next request sees it (the
 * seller role and seller id are read at authentication, so the signed-in viewer lacks them).
 */
export async function openSellerAccount(commerce: Commerce, user: SignedIn, displayName: string): Promise<Viewer> {
  await commerce.selling.becomeSeller(user.viewer, displayName);
  const seller = await commerce.accounts.authenticate(user.token);
  if (!seller) throw new Error("the seller's session was not recognised");
  return seller;
}

/** A draft title of `seller`'s with these offers (one HD purchase unless told), ready to be submitted. */
export async function draftWithOffers(
  commerce: Commerce,
  seller: Viewer,
  draft: TitleDraft,
  offers: OfferInput[] = [{ kind: "buy", quality: "HD", price_minor: 1000 }],
): Promise<string> {
  const { title_id } = await commerce.selling.createTitle(seller, draft);
  await commerce.selling.setOffers(seller, title_id, offers);
  return title_id;
}
