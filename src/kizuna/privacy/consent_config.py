"""What a person can consent to: purposes, channels and subscription groups (configuration).

A *subscription group* is one purpose on one channel (``marketing`` on ``email``) with its
semantics: ``opt_in`` (nothing is allowed until the person says yes: marketing email and SMS
under Japan's Act on Specified Electronic Mail, sharing with third parties under APPI art. 27)
or ``opt_out`` (allowed until the person says no). ``all`` is the channel of purposes that
are not about contacting anyone (analytics, profiling). Set ``KIZUNA_PRIVACY__CONSENT_FILE``
to a JSON file of this shape to change them (``kizuna privacy consent-catalogue`` prints the
defaults).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kizuna.errors import KizunaError

CHANNELS = ("email", "sms", "push", "line", "phone", "post", "all")
Semantics = Literal["opt_in", "opt_out"]


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    channel: str
    semantics: Semantics
    label_en: str
    label_ja: str

    @property
    def key(self) -> str:
        return f"{self.purpose}:{self.channel}"


def _group(purpose: str, channel: str, semantics: Semantics, en: str, ja: str) -> Group:
    return Group(purpose=purpose, channel=channel, semantics=semantics, label_en=en, label_ja=ja)


_EN_JA = {
    ("marketing", "email"): ("News and offers by email", "メールでのお知らせ・キャンペーン"),
    ("marketing", "sms"): ("Offers by SMS", "SMSでのキャンペーン"),
    ("marketing", "push"): ("Offers as app notifications", "アプリ通知でのキャンペーン"),
    ("marketing", "line"): ("Offers on LINE", "LINEでのキャンペーン"),
    ("marketing", "phone"): ("Offers by phone", "お電話でのご案内"),
    ("marketing", "post"): ("Catalogues by post", "郵送でのカタログ"),
    ("analytics", "all"): ("Analytics of how you use our services", "サービス改善のための利用分析"),
    ("personalisation", "all"): ("Recommendations made for you", "あなたに合わせたおすすめ"),
    ("profiling", "all"): ("Segments for targeted offers", "興味・関心に基づくセグメント分析"),
    ("third_party_sharing", "all"): ("Sharing with partner companies", "提携企業への情報提供"),
}
_OPT_OUT = {("marketing", "post"), ("analytics", "all"), ("personalisation", "all"),
            ("profiling", "all")}  # fmt: skip
DEFAULT_GROUPS = tuple(
    _group(p, c, "opt_out" if (p, c) in _OPT_OUT else "opt_in", en, ja)
    for (p, c), (en, ja) in _EN_JA.items()
)

# Segment's consent categories (``context.consent.categoryPreferences``) -> our purposes.
DEFAULT_CATEGORY_ALIASES = {
    "advertising": "marketing",
    "marketing": "marketing",
    "marketingandanalytics": "marketing",
    "analytics": "analytics",
    "performance": "analytics",
    "functional": "personalisation",
    "personalization": "personalisation",
    "personalisation": "personalisation",
    "profiling": "profiling",
    "thirdparty": "third_party_sharing",
    "thirdpartysharing": "third_party_sharing",
    "datasharing": "third_party_sharing",
}

LEGAL_BASES = ("consent", "contract", "legitimate_interest", "legal_obligation")


class ConsentCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=1, ge=1)
    groups: tuple[Group, ...] = DEFAULT_GROUPS
    category_aliases: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CATEGORY_ALIASES))

    @model_validator(mode="after")
    def _consistent(self) -> ConsentCatalogue:
        keys = [g.key for g in self.groups]
        if len(set(keys)) != len(keys):
            raise ValueError("a purpose and channel are listed twice")
        for group in self.groups:
            if group.channel not in CHANNELS:
                raise ValueError(f"unknown channel {group.channel!r}; channels are {CHANNELS}")
        unknown = set(self.category_aliases.values()) - set(self.purposes)
        if unknown:
            raise ValueError(f"category aliases name unknown purposes: {sorted(unknown)}")
        return self

    @property
    def purposes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(g.purpose for g in self.groups))

    def group(self, purpose: str, channel: str) -> Group | None:
        """The group deciding ``purpose`` on ``channel`` (its own, else the purpose's ``all``)."""
        for group in self.groups:
            if group.purpose == purpose and group.channel == channel:
                return group
        for group in self.groups:
            if group.purpose == purpose and group.channel == "all":
                return group
        return None

    def purpose_of_category(self, category: str) -> str | None:
        key = "".join(c for c in category.casefold() if c.isalnum())
        return self.category_aliases.get(key)


@lru_cache(maxsize=4)
def load_catalogue(path: str | None) -> ConsentCatalogue:
    if not path:
        return ConsentCatalogue()
    return ConsentCatalogue.model_validate_json(Path(path).read_text(encoding="utf-8"))


class UnknownPurpose(KizunaError):
    status = 400
    code = "consent.unknown_purpose"


class UnknownChannel(KizunaError):
    status = 400
    code = "consent.unknown_channel"


def check_choice(
    catalogue: ConsentCatalogue, purpose: str, channel: str, *, recording: bool = False
) -> None:
    """A question may name any channel (a channel-less purpose answers for all of them); a
    recorded choice must name a group of its own, or ``all`` for every group of the purpose."""
    if purpose not in catalogue.purposes:
        raise UnknownPurpose(
            f"unknown purpose {purpose!r}; purposes: {', '.join(catalogue.purposes)}"
        )
    if channel not in CHANNELS:
        raise UnknownChannel(f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
    exact = any(g.purpose == purpose and g.channel == channel for g in catalogue.groups)
    if channel != "all" and (
        catalogue.group(purpose, channel) is None or (recording and not exact)
    ):
        raise UnknownChannel(f"{purpose} has no subscription group on {channel}")
