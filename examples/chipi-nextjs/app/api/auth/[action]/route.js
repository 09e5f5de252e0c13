// GET /api/auth/jwks   the demo auth provider's JWKS (what latchkey fetches)
// GET /api/auth/token?user=ID   a short-lived token for a demo user (what the page sends
//                               as its bearer token)
// Both in one route module, so that they share one key pair.

import { issueToken, jwks, validUserId } from '../../../../lib/auth';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

const noStore = { 'cache-control': 'no-store' };

export async function GET(request, { params }) {
  const { action } = await params;
  if (action === 'jwks') {
    return Response.json(jwks(), { headers: { 'cache-control': 'public, max-age=60' } });
  }
  if (action === 'token') {
    const user = new URL(request.url).searchParams.get('user');
    if (!validUserId(user)) {
      return Response.json({ message: 'user: 1 to 64 letters, digits, _ . -' }, { status: 400, headers: noStore });
    }
    return Response.json(issueToken(user), { headers: noStore });
  }
  return Response.json({ message: 'not found' }, { status: 404, headers: noStore });
}
