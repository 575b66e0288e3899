"""Accessibility the stylesheet and pages can show without a browser: WCAG AA contrast (4.5:1) of text,
category chips and buttons computed from the stylesheet's colours, alt text of the evidence that says
what and where, and the users list naming only those who can log in to the web view."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.web.render import STATIC_DIR
from tests.service.builders import Auth, jpeg, obs, post, send, store_image
from tests.service.places import line
from tests.service.web_client import PASSWORD, logged_in, login

AA = 4.5
TOP_BAR = "#1b2838"
TOAST = "#212529"
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_VAR = re.compile(r"var\((--[\w-]+)\)")
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def luminance(colour: str) -> float:
    """WCAG relative luminance of a #rgb or #rrggbb colour."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rules() -> list[tuple[str, dict[str, str]]]:
    """(selector, {property: value with variables resolved}) of every rule of the stylesheet."""
    css = re.sub(r"/\*.*?\*/", "", (STATIC_DIR / "app.css").read_text(), flags=re.S)
    parsed = [
        (selector.strip(), dict(d.split(":", 1) for d in body.split(";") if ":" in d))
        for selector, body in _RULE.findall(css)
    ]
    variables = {k.strip(): v.strip() for sel, decls in parsed if sel == ":root" for k, v in decls.items()}
    return [
        (sel, {k.strip(): _VAR.sub(lambda m: variables[m.group(1)], v.strip()) for k, v in decls.items()})
        for sel, decls in parsed
    ]


def solid(value: str | None) -> str | None:
    """A declaration's colour when it is one solid colour (#rgb or #rrggbb)."""
    return value if value and _HEX.match(value) else None


def pairs() -> Iterator[tuple[str, str, str]]:
    """(what, text colour, background) of every text the stylesheet colours."""
    sheet = rules()
    backgrounds = {solid(d.get("background") or d.get("background-color")) for _, d in sheet} - {None}
    light = {b for b in backgrounds if b and luminance(b) > 0.6}
    chip_text = next(d["color"] for sel, d in sheet if sel == ".cat")
    for selector, decls in sheet:
        fg = solid(decls.get("color"))
        bg = solid(decls.get("background") or decls.get("background-color"))
        if selector.startswith(".cat.cat") and bg:
            yield f"chip {selector}", chip_text, bg
        if fg is None:
            continue
        if bg is not None:
            yield selector, fg, bg
        elif selector.startswith((".top", ".who", ".brand", ".langs", ".main-nav")):
            yield selector, fg, TOP_BAR
        elif selector.startswith(".toast"):
            yield selector, fg, TOAST
        elif luminance(fg) < 0.4:  # dark text: on every light surface of the page
            for surface in sorted(light):
                yield f"{selector} on {surface}", fg, surface


def test_the_contrast_check_finds_the_colours() -> None:
    found = list(pairs())
    assert len({what.split(" on ")[0] for what, _, _ in found}) >= 20
    assert any(what.startswith("chip .cat.cat7") for what, _, _ in found)
    assert ("button.primary", "#fff", "#1864ab") in found
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey


@pytest.mark.parametrize("what,fg,bg", list(pairs()), ids=lambda v: str(v))
def test_text_chips_and_buttons_reach_aa_contrast(what: str, fg: str, bg: str) -> None:
    assert contrast(fg, bg) >= AA, f"{what}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"


def test_evidence_alt_text_says_what_and_where(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    street = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "s",
                "geometry": line((0, -300), (0, 300)),
                "properties": {"name": "泽州路", "kind": "strict_street"},
            }
        ],
    }
    post(client, auth["admin"], "/api/hotspots/import", street)
    image = store_image(client, auth, jpeg())
    case_id = send(client, auth, [obs("1", crop=image, keyframe=image)])["results"][0]["case_id"]
    logged_in(client, web_users["reviewer"])
    for page in (client.get("/review").text, client.get(f"/cases/{case_id}").text):
        alts = re.findall(r'<img class="(?:keyframe|crop)[^"]*"[^>]*alt="([^"]*)"', page)
        assert alts and all("流动摊贩" in alt and "泽州路" in alt for alt in alts), alts


def test_only_users_who_can_log_in_are_listed_so(client: TestClient, web_users: dict[str, str]) -> None:
    logged_in(client, web_users["admin"])
    rows = dict(re.findall(r"<td>([\w-]+)</td><td>[^<]*</td><td>([^<]*)</td>", client.get("/admin/users").text))
    assert rows == {web_users["admin"]: "✓", web_users["reviewer"]: "✓", web_users["uploader"]: ""}
    client.cookies.clear()
    assert "该账号无审核权限" in login(client, web_users["uploader"], PASSWORD).text
