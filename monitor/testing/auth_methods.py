"""RPC methods for configuration, login (code, 2FA, bot token) and users.

Every test phone signs in with the server's fixed login code. The 2FA check is real SRP
(the same maths as ``telethon.password.compute_check``), so a wrong password fails the way
Telegram fails it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import Any

from telethon import password as tl_password
from telethon.tl import functions, types

from monitor.testing import crypto
from monitor.testing.dispatch import RequestContext, rpc
from monitor.testing.mtproto import RpcFault
from monitor.testing.render import DC_ID, as_date, user_tl
from monitor.testing.state import UserRecord, now

CONFIG_TTL = 3600


@rpc(functions.help.GetConfigRequest, needs_auth=False)
def get_config(ctx: RequestContext, request: Any) -> Any:
    """A ``Config`` whose only DC is this server."""
    host, port = ctx.server.address
    option = types.DcOption(id=DC_ID, ip_address=host, port=port)
    limits = dict.fromkeys(
        (
            "online_update_period_ms",
            "offline_blur_timeout_ms",
            "offline_idle_timeout_ms",
            "online_cloud_timeout_ms",
            "notify_cloud_delay_ms",
            "notify_default_delay_ms",
            "push_chat_period_ms",
            "push_chat_limit",
            "edit_time_limit",
            "revoke_time_limit",
            "revoke_pm_time_limit",
            "rating_e_decay",
            "stickers_recent_limit",
            "channels_read_media_period",
            "call_receive_timeout_ms",
            "call_ring_timeout_ms",
            "call_connect_timeout_ms",
            "call_packet_timeout_ms",
        ),
        30_000,
    )
    return types.Config(
        date=as_date(now()),
        expires=as_date(now() + CONFIG_TTL),
        test_mode=True,
        this_dc=DC_ID,
        dc_options=[option],
        dc_txt_domain_name="localhost",
        chat_size_max=200,
        megagroup_size_max=200_000,
        forwarded_count_max=100,
        me_url_prefix="https://t.me/",
        caption_length_max=1024,
        message_length_max=4096,
        webfile_dc_id=DC_ID,
        **limits,
    )


@rpc(functions.help.GetNearestDcRequest, needs_auth=False)
def get_nearest_dc(ctx: RequestContext, request: Any) -> Any:
    """This server is always the nearest DC."""
    return types.NearestDc(country="ZZ", this_dc=DC_ID, nearest_dc=DC_ID)


@rpc(functions.auth.SendCodeRequest, needs_auth=False)
def send_code(ctx: RequestContext, request: Any) -> Any:
    """Pretend to send the fixed login code to the phone's Telegram app."""
    if not any(ch.isdigit() for ch in request.phone_number):
        raise RpcFault(400, "PHONE_NUMBER_INVALID")
    code_hash = secrets.token_hex(8)
    ctx.record.pending["code"] = (request.phone_number, code_hash)
    return types.auth.SentCode(
        type=types.auth.SentCodeTypeApp(length=len(ctx.state.login_code)),
        phone_code_hash=code_hash,
    )


def signed_in(ctx: RequestContext, user: UserRecord) -> Any:
    """Bind the auth key to ``user`` and return the ``auth.Authorization``."""
    ctx.record.user_id = user.id
    ctx.record.pending.clear()
    return types.auth.Authorization(user=user_tl(user, user.id))


@rpc(functions.auth.SignInRequest, needs_auth=False)
def sign_in(ctx: RequestContext, request: Any) -> Any:
    """Check the code; SESSION_PASSWORD_NEEDED for accounts with 2FA."""
    pending = ctx.record.pending.get("code")
    if pending is None or pending[1] != request.phone_code_hash:
        raise RpcFault(400, "PHONE_CODE_EXPIRED")
    if request.phone_code != ctx.state.login_code:
        raise RpcFault(400, "PHONE_CODE_INVALID")
    user = ctx.state.user_by_phone(request.phone_number)
    if user is None:
        return types.auth.AuthorizationSignUpRequired()
    if user.password is not None:
        ctx.record.pending["password_user"] = user.id
        raise RpcFault(401, "SESSION_PASSWORD_NEEDED")
    return signed_in(ctx, user)


@rpc(functions.auth.ImportBotAuthorizationRequest, needs_auth=False)
def import_bot_authorization(ctx: RequestContext, request: Any) -> Any:
    """Sign in a bot by its token."""
    for user in ctx.state.users.values():
        token = user.bot_token
        if user.bot and token is not None and secrets.compare_digest(token, request.bot_auth_token):
            return signed_in(ctx, user)
    raise RpcFault(400, "ACCESS_TOKEN_INVALID")


@rpc(functions.auth.LogOutRequest)
def log_out(ctx: RequestContext, request: Any) -> Any:
    """Forget who this auth key belongs to."""
    ctx.record.user_id = None
    return types.auth.LoggedOut()


def password_user(ctx: RequestContext) -> UserRecord:
    """The account waiting for its 2FA password on this auth key."""
    user_id = ctx.conn.user_id or ctx.record.pending.get("password_user")
    if user_id is None:
        raise RpcFault(401, "AUTH_KEY_UNREGISTERED")
    return ctx.state.users[user_id]


@rpc(functions.account.GetPasswordRequest, needs_auth=False)
def get_password(ctx: RequestContext, request: Any) -> Any:
    """The SRP parameters for the account's password (or ``has_password=False``)."""
    user = password_user(ctx)
    if user.password is None:
        return types.account.Password(
            new_algo=types.PasswordKdfAlgoUnknown(),
            new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
            secure_random=os.urandom(32),
            has_password=False,
        )
    algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
        salt1=user.id.to_bytes(8, "big"),
        salt2=user.access_hash.to_bytes(8, "big", signed=True),
        g=crypto.DH_G,
        p=crypto.DH_PRIME.to_bytes(256, "big"),
    )
    verifier = pow(
        algo.g,
        int.from_bytes(tl_password.compute_hash(algo, user.password), "big"),
        crypto.DH_PRIME,
    )
    b, srp_b = srp_server_public(verifier)
    srp_id = int.from_bytes(os.urandom(8), "big", signed=True)
    ctx.record.pending["srp"] = (srp_id, algo, verifier, b, srp_b)
    return types.account.Password(
        new_algo=algo,
        new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
        secure_random=os.urandom(32),
        has_password=True,
        current_algo=algo,
        srp_B=srp_b.to_bytes(256, "big"),
        srp_id=srp_id,
    )


def srp_k() -> int:
    """SRP's multiplier ``k = H(p | g)``."""
    digest = hashlib.sha256(crypto.DH_PRIME.to_bytes(256, "big") + crypto.DH_G.to_bytes(256, "big"))
    return int.from_bytes(digest.digest(), "big")


def srp_server_public(verifier: int) -> tuple[int, int]:
    """A secret ``b`` and ``B = k*v + g^b mod p`` with ``g^b`` in the range clients check."""
    while True:
        b = int.from_bytes(os.urandom(256), "big")
        g_b = pow(crypto.DH_G, b, crypto.DH_PRIME)
        if tl_password.is_good_mod_exp_first(g_b, crypto.DH_PRIME):
            return b, (srp_k() * verifier + g_b) % crypto.DH_PRIME


@rpc(functions.auth.CheckPasswordRequest, needs_auth=False)
def check_password(ctx: RequestContext, request: Any) -> Any:
    """Verify the client's SRP proof ``M1``."""
    user = password_user(ctx)
    pending = ctx.record.pending.get("srp")
    check = request.password
    if (
        pending is None
        or not isinstance(check, types.InputCheckPasswordSRP)
        or check.srp_id != pending[0]
    ):
        raise RpcFault(400, "SRP_ID_INVALID")
    _, algo, verifier, b, srp_b = pending
    big = tl_password.big_num_for_hash
    a_bytes, b_bytes = check.A, big(srp_b)
    u = int.from_bytes(hashlib.sha256(a_bytes + b_bytes).digest(), "big")
    shared = pow(
        int.from_bytes(a_bytes, "big") * pow(verifier, u, crypto.DH_PRIME), b, crypto.DH_PRIME
    )
    sha = tl_password.sha256
    p_hash, g_hash = sha(big(crypto.DH_PRIME)), sha(big(crypto.DH_G))
    expected = sha(
        tl_password.xor(p_hash, g_hash),
        sha(algo.salt1),
        sha(algo.salt2),
        a_bytes,
        b_bytes,
        sha(big(shared)),
    )
    if not secrets.compare_digest(expected, check.M1):
        raise RpcFault(400, "PASSWORD_HASH_INVALID")
    return signed_in(ctx, user)


@rpc(functions.users.GetUsersRequest)
def get_users(ctx: RequestContext, request: Any) -> Any:
    """Users by input; unknown ones come back as ``UserEmpty``."""
    found = []
    for peer in request.id:
        try:
            found.append(user_tl(ctx.user(peer), ctx.me.id))
        except RpcFault:
            found.append(types.UserEmpty(id=getattr(peer, "user_id", 0)))
    return found


@rpc(functions.users.GetFullUserRequest)
def get_full_user(ctx: RequestContext, request: Any) -> Any:
    """``users.UserFull`` with empty settings."""
    user = ctx.user(request.id)
    full = types.UserFull(
        id=user.id,
        settings=types.PeerSettings(),
        notify_settings=types.PeerNotifySettings(),
        common_chats_count=0,
        about=None,
    )
    return types.users.UserFull(full_user=full, chats=[], users=[user_tl(user, ctx.me.id)])


@rpc(functions.updates.GetStateRequest)
def get_state(ctx: RequestContext, request: Any) -> Any:
    """The account's pts (private messages); qts and seq are always 0 here."""
    return types.updates.State(pts=ctx.me.pts, qts=0, date=as_date(now()), seq=0, unread_count=0)
