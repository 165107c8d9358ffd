"""Customer plans: plain data generated deterministically from a seed (random.Random and
Faker("zh_CN") seeded alike). Nothing here touches the database, so the same seed gives the
same plans wherever they are written."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from faker import Faker

from guanxi.core.china import credit_code_with_check
from guanxi.core.errors import DomainError
from guanxi.customers.demo.data import (
    BRANCHES,
    BRAND_CHARS,
    BUILDING_WORDS,
    CITIES,
    CODE_ALPHABET,
    COMMON_SCOPE,
    CONTACT_COUNT_WEIGHTS,
    CONTACT_NOTES,
    CREDIT_BY_GRADE,
    CUSTOMER_NOTES,
    DEMO_USERS,
    DEPARTMENTS,
    FILING_LAG_WEIGHTS,
    GIVEN_CHARS,
    GRADE_WEIGHTS,
    HOBBIES,
    INDUSTRIES,
    LEGAL_FORMS,
    MOBILE_PREFIXES,
    PRIMARY_TITLES,
    RESERVED_BRANDS,
    ROADS,
    SOURCE_WEIGHTS,
    STATUS_BY_GRADE,
    SURNAMES,
    TITLES,
    VALUE_BY_GRADE,
    City,
    DemoIndustry,
)


class DemoError(DomainError):
    code = "demo_refused"


# --- plans: plain data, generated deterministically -------------------------------------------
@dataclass
class ContactPlan:
    name: str
    title: str
    deal_role: str
    mobile: str
    phone: str = ""
    email: str = ""
    birthday: dt.date | None = None
    hobbies: str = ""
    notes: str = ""
    is_primary: bool = False


@dataclass
class SpecialDatePlan:
    kind: str
    date: dt.date
    recurring: bool
    remind_days_before: int
    note: str = ""
    contact: int | None = None  # index into contacts


@dataclass
class CustomerPlan:
    name: str
    credit_code: str
    legal_representative: str
    registered_capital: Decimal | None
    business_scope: str
    address: str
    postcode: str
    phone: str
    fax: str
    email: str
    website: str
    industry: str | None
    customer_type: str
    region: str
    branch: str
    owner: str  # username
    co_owner: str | None
    tags: list[str]
    source_channel: str
    value_tier: str
    cooperation_status: str
    grade: str
    credit_level: str
    secrecy_level: str
    first_contact_on: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    notes: str
    contacts: list[ContactPlan] = field(default_factory=list)
    # (source contact index, target contact index, kind, strength)
    relations: list[tuple[int, int, str, int]] = field(default_factory=list)
    special_dates: list[SpecialDatePlan] = field(default_factory=list)


_LEGAL_SUFFIXES = sorted({form for form, _w in LEGAL_FORMS}, key=len, reverse=True)
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")


def name_core(name: str) -> str:
    """The distinguishing part of a company name: without region, brackets and legal form.

    Two demo customers never share a core, so the duplicate finder sees no false pairs.
    """
    core = _BRACKETS.sub("", name)
    for suffix in _LEGAL_SUFFIXES:
        if core.endswith(suffix):
            core = core[: -len(suffix)]
            break
    for city in CITIES:
        if core.startswith(city):
            core = core[len(city) :].removeprefix("市")
            break
    return core


def _weighted(rnd: random.Random, weights: dict[str, float] | tuple[tuple[str, int], ...]) -> str:
    items = list(weights.items()) if isinstance(weights, dict) else list(weights)
    return rnd.choices([k for k, _w in items], weights=[w for _k, w in items])[0]


class DemoGenerator:
    """Generates CustomerPlans from a seed; holds the uniqueness sets."""

    def __init__(
        self,
        *,
        seed: int,
        now: dt.datetime,
        codes: dict[str, list[str]],
        taken_names: set[str] | None = None,
        taken_credit_codes: set[str] | None = None,
    ):
        self.rnd = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.now = now
        self.today = timezone.localdate(now)
        self.tz = timezone.get_current_timezone()
        self.codes = codes
        self.cores = {name_core(n) for n in taken_names or ()}
        self.credit_codes = set(taken_credit_codes or ())
        self.domains: set[str] = set()
        self.mobiles: set[str] = set()
        self.surnames = list(SURNAMES)
        self.brand_chars = list(BRAND_CHARS)
        self.brand_list = [
            a + b
            for a in BRAND_CHARS
            for b in BRAND_CHARS
            if a != b and a + b not in RESERVED_BRANDS
        ]
        sales: dict[str, list[str]] = {}
        supervisors: dict[str, str] = {}
        for user in DEMO_USERS:
            if "salesperson" in user.roles:
                sales.setdefault(user.department, []).append(user.username)
            if "supervisor" in user.roles:
                supervisors[user.department] = user.username
        parents = {d.name: d.parent for d in DEPARTMENTS}
        self.sales = sales
        self.branch_supervisor = {b: supervisors.get(parents[b] or "") for b in BRANCHES}
        self.branch_weights = {b: w for b, (w, _cities) in BRANCHES.items()}
        self.industry_weights = {i.name: i.weight for i in INDUSTRIES}
        self.industries = {i.name: i for i in INDUSTRIES}

    # --- pieces -----------------------------------------------------------------------------
    def _code_weights(self, key: str, table: dict[str, float]) -> dict[str, float]:
        """Weights for the codes the policy in force allows; codes this generator does not
        know (a company's own additions) get a small share, or all of it if none is known."""
        codes = self.codes[key]
        known = {code: table[code] for code in codes if table.get(code)}
        if not known:
            return dict.fromkeys(codes, 1) or {"": 1}
        share = sum(known.values()) * 0.05
        return {code: known.get(code, share) for code in codes}

    def _credit_code(self, city: City, district_code: str) -> str:
        while True:
            if self.rnd.random() < 0.6:
                body = "MA" + "".join(self.rnd.choice(CODE_ALPHABET) for _ in range(7))
            else:
                body = "".join(self.rnd.choice("0123456789") for _ in range(8)) + self.rnd.choice(
                    "0123456789X"
                )
            code = credit_code_with_check(f"91{city.code}{district_code}{body}")
            if code not in self.credit_codes:
                self.credit_codes.add(code)
                return code

    def _company_name(self, city: City, industry: DemoIndustry) -> tuple[str, str, str]:
        """(name, brand, word abbreviation) with a core no other customer has."""
        for attempt in range(200):
            if attempt < 60:
                brand = self.rnd.choice(self.brand_list)
            else:  # a crowded book: three-character brands are plentiful
                brand = self.rnd.choice(self.brand_list) + self.rnd.choice(self.brand_chars)
            word, abbr = self.rnd.choice(industry.words)
            core = brand + word
            if core in self.cores:
                continue
            form = _weighted(self.rnd, LEGAL_FORMS)
            if "集团" in form and word.endswith(("工程", "设计")):
                form = "有限公司"
            style = self.rnd.random()
            if style < 0.55:
                name = f"{city.name}{brand}{word}{form}"
            elif style < 0.85:
                name = f"{city.name}市{brand}{word}{form}"
            elif style < 0.95:
                name = f"{brand}{word}（{city.name}）{form}"
            else:
                name = f"{brand}{word}{form}"
            self.cores.add(core)
            return name, brand, abbr
        raise DemoError("无法生成不重复的客户名称，请减少客户数量。")  # pragma: no cover

    def _domain(self, brand: str, abbr: str, city: City) -> str:
        base = "".join(BRAND_CHARS[c] for c in brand)
        tld = self.rnd.choice((".com", ".com", ".com.cn", ".cn"))
        for candidate in (f"{base}{abbr}", f"{city.abbr}{base}{abbr}", f"{base}-{abbr}"):
            if candidate + tld not in self.domains:
                self.domains.add(candidate + tld)
                return candidate + tld
        n = 2
        while f"{base}{abbr}{n}{tld}" in self.domains:
            n += 1
        self.domains.add(f"{base}{abbr}{n}{tld}")
        return f"{base}{abbr}{n}{tld}"

    def _mobile(self) -> str:
        while True:
            number = self.rnd.choice(MOBILE_PREFIXES) + f"{self.rnd.randrange(10**8):08d}"
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number

    def _landline(self, city: City) -> str:
        first = self.rnd.choice("23456789")
        return f"{city.area_code}-{first}{self.rnd.randrange(10**7):07d}"

    def _person(self, taken: set[str]) -> tuple[str, str]:
        while True:
            surname = self.rnd.choice(self.surnames)
            chars = GIVEN_CHARS["m" if self.rnd.random() < 0.7 else "f"]
            given = "".join(self.rnd.choice(list(chars)) for _ in range(self.rnd.choice((1, 2, 2))))
            name = surname + given
            if name not in taken:
                taken.add(name)
                return name, SURNAMES[surname] + "".join(chars[c] for c in given)

    def _moment(self, day: dt.date) -> dt.datetime:
        """A working-hours moment on `day` (never in the future)."""
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        at = dt.datetime.combine(
            day, dt.time(self.rnd.randint(8, 17), self.rnd.randrange(60)), tzinfo=self.tz
        )
        return min(at, self.now - dt.timedelta(minutes=self.rnd.randint(5, 600)))

    def _registered_capital(self, grade: str) -> Decimal | None:
        if self.rnd.random() < 0.1:
            return None
        low, high = {"A": (1000, 100000), "B": (300, 20000)}.get(grade, (50, 5000))
        value = self.rnd.lognormvariate(0, 1) * (low + high) / 8
        value = max(low, min(high, value))
        step = 100 if value >= 1000 else 10
        return Decimal(int(value / step) * step or step)

    # --- a customer --------------------------------------------------------------------------
    def customer(self) -> CustomerPlan:
        rnd = self.rnd
        branch = _weighted(rnd, self.branch_weights)
        city = CITIES[_weighted(rnd, BRANCHES[branch][1])]
        district, district_code = rnd.choice(city.districts)
        industry = self.industries[_weighted(rnd, self.industry_weights)]
        name, brand, abbr = self._company_name(city, industry)
        domain = self._domain(brand, abbr, city)

        grade = _weighted(rnd, self._code_weights("grades", GRADE_WEIGHTS))
        status = _weighted(rnd, self._code_weights("statuses", STATUS_BY_GRADE.get(grade, {})))
        credit_level = _weighted(
            rnd, self._code_weights("credit_levels", CREDIT_BY_GRADE.get(grade, {}))
        )
        value_tier = _weighted(rnd, VALUE_BY_GRADE.get(grade, VALUE_BY_GRADE["C"]))
        customer_type = (
            _weighted(rnd, self._code_weights("types", industry.types))
            if rnd.random() < 0.95
            else ""
        )
        source = _weighted(rnd, SOURCE_WEIGHTS) if rnd.random() < 0.9 else ""

        days_ago = int(rnd.triangular(1, 3 * 365, 400))
        created_at = self._moment(self.today - dt.timedelta(days=days_ago))
        lag = _weighted(rnd, FILING_LAG_WEIGHTS)
        first_contact_on = (
            timezone.localdate(created_at) - dt.timedelta(days=int(lag))
            if rnd.random() < 0.9
            else None
        )
        if rnd.random() < 0.65 or days_ago < 180:
            recent = self.now - dt.timedelta(days=rnd.uniform(0, min(170, days_ago)))
            updated_at = max(created_at, recent)
        else:
            span = (self.now - dt.timedelta(days=181) - created_at).total_seconds()
            updated_at = created_at + dt.timedelta(seconds=rnd.uniform(0, max(span, 0)))

        owners = self.sales[branch]
        owner = rnd.choice(owners)
        co_owner = None
        if rnd.random() < 0.1:
            others = [u for u in owners if u != owner]
            co_owner = (
                rnd.choice(others)
                if others and rnd.random() < 0.6
                else self.branch_supervisor[branch]
            )

        tags: list[str] = []
        is_listed = "股份" in name and rnd.random() < 0.4
        ownership = rnd.random()
        if ownership < 0.18:
            tags.append("国企")
        elif ownership < 0.9:
            tags.append("民营")
        elif ownership < 0.95:
            tags.append("外资")
        if is_listed:
            tags.append("上市公司")
        if grade == "A" and rnd.random() < 0.7:
            tags.append("重点客户")
        if status == "green" and grade in {"A", "B"} and rnd.random() < 0.3:
            tags.append("战略合作")
        if source == "bidding":
            tags.append("招投标")
        if days_ago > 730 and rnd.random() < 0.6:
            tags.append("老客户")
        if days_ago < 180:
            tags.append("新开发")
        if city.region != CITIES[BRANCHES[branch][1][0][0]].region:
            tags.append("跨区域")
        if credit_level == "level3" and status in {"yellow", "black"} and rnd.random() < 0.5:
            tags.append("回款风险")

        scope_items = rnd.sample(industry.scope, k=min(len(industry.scope), rnd.randint(2, 4)))
        scope_items += rnd.sample(COMMON_SCOPE, k=rnd.randint(0, 2))
        business_scope = (
            "；".join(scope_items) + "。（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
        )

        number = rnd.randint(1, 999)
        building = ""
        if rnd.random() < 0.6:
            building = "".join(rnd.sample(self.brand_chars, 2)) + rnd.choice(BUILDING_WORDS)
            building += (
                f"{rnd.randint(1, 12)}号楼"
                if building.endswith("园")
                else f"{rnd.randint(2, 32)}层"
            )
        address = f"{city.name}市{district}{rnd.choice(ROADS)}{number}号{building}"

        plan = CustomerPlan(
            name=name,
            credit_code="" if rnd.random() < 0.03 else self._credit_code(city, district_code),
            legal_representative=self.fake.name() if rnd.random() < 0.97 else "",
            registered_capital=self._registered_capital(grade),
            business_scope=business_scope if rnd.random() < 0.8 else "",
            address=address if rnd.random() < 0.98 else "",
            postcode=f"{city.postcode}{rnd.randrange(100):02d}{rnd.choice('0000123')}"
            if rnd.random() < 0.85
            else "",
            phone=self._landline(city) if rnd.random() < 0.95 else "",
            fax=self._landline(city) if rnd.random() < 0.35 else "",
            email=f"{rnd.choice(('info', 'office', 'sales', 'contact', 'service'))}@{domain}"
            if rnd.random() < 0.8
            else "",
            website=f"https://www.{domain}" if rnd.random() < 0.7 else "",
            industry=industry.name if rnd.random() < 0.97 else None,
            customer_type=customer_type,
            region=city.region,
            branch=branch,
            owner=owner,
            co_owner=co_owner,
            tags=tags,
            source_channel=source,
            value_tier=value_tier,
            cooperation_status=status,
            grade=grade,
            credit_level=credit_level,
            secrecy_level=_weighted(rnd, {"normal": 95, "confidential": 4, "top_secret": 1}),
            first_contact_on=first_contact_on,
            created_at=created_at,
            updated_at=updated_at,
            notes=rnd.choice(CUSTOMER_NOTES) if rnd.random() < 0.1 else "",
        )
        self._add_contacts(plan, city, domain)
        self._add_special_dates(plan, days_ago)
        return plan

    def _add_contacts(self, plan: CustomerPlan, city: City, domain: str) -> None:
        rnd = self.rnd
        count = _weighted(rnd, CONTACT_COUNT_WEIGHTS)
        names: set[str] = set()
        titles = [_weighted(rnd, PRIMARY_TITLES)]
        others = [t for t in TITLES if t != titles[0]]
        titles += rnd.sample(others, k=int(count) - 1)
        for index, title in enumerate(titles):
            name, pinyin = self._person(names)
            birthday = None
            if rnd.random() < 0.6:
                birthday = self.today - dt.timedelta(days=rnd.randint(26 * 365, 60 * 365))
            plan.contacts.append(
                ContactPlan(
                    name=name,
                    title=title,
                    deal_role=TITLES[title],
                    mobile=self._mobile(),
                    phone=self._landline(city) if rnd.random() < 0.3 else "",
                    email=f"{pinyin}@{domain}" if rnd.random() < 0.5 else "",
                    birthday=birthday,
                    hobbies="、".join(rnd.sample(HOBBIES, k=rnd.randint(1, 3)))
                    if rnd.random() < 0.7
                    else "",
                    notes=rnd.choice(CONTACT_NOTES) if rnd.random() < 0.15 else "",
                    is_primary=index == 0,
                )
            )
        # The relationship circle: who reports to and who influences the decision maker.
        if len(plan.contacts) >= 2 and rnd.random() < 0.6:
            deciders = [i for i, c in enumerate(plan.contacts) if c.deal_role == "decision_maker"]
            head = deciders[0] if deciders else 0
            for index, contact in enumerate(plan.contacts):
                if index == head or rnd.random() < 0.3:
                    continue
                kind = (
                    "influences" if contact.deal_role in {"influencer", "finance"} else "reports_to"
                )
                plan.relations.append((index, head, kind, rnd.randint(2, 5)))
            if len(plan.contacts) >= 3 and rnd.random() < 0.2:
                a, b = rnd.sample(range(len(plan.contacts)), 2)
                plan.relations.append(
                    (a, b, rnd.choice(("friend", "former_colleague")), rnd.randint(1, 4))
                )
        for index, contact in enumerate(plan.contacts):
            if contact.birthday and rnd.random() < 0.5:
                plan.special_dates.append(
                    SpecialDatePlan(
                        "birthday", contact.birthday, True, 10, f"{contact.name}生日", index
                    )
                )
            elif rnd.random() < 0.03:
                wedding = self.today - dt.timedelta(days=rnd.randint(365, 25 * 365))
                plan.special_dates.append(
                    SpecialDatePlan(
                        "wedding_anniversary", wedding, True, 10, f"{contact.name}结婚纪念日", index
                    )
                )

    def _add_special_dates(self, plan: CustomerPlan, days_ago: int) -> None:
        rnd = self.rnd
        if rnd.random() < 0.25:
            founded = dt.date(rnd.randint(1993, 2021), rnd.randint(1, 12), rnd.randint(1, 28))
            plan.special_dates.append(
                SpecialDatePlan("company_anniversary", founded, True, 30, "公司成立纪念日")
            )
        if rnd.random() < 0.03:
            moved = self.today - dt.timedelta(days=rnd.randint(0, min(days_ago, 365)))
            plan.special_dates.append(SpecialDatePlan("relocation", moved, False, 10, "乔迁新址"))
        if plan.contacts and rnd.random() < 0.03:
            promoted = self.today - dt.timedelta(days=rnd.randint(0, 365))
            who = plan.contacts[0]
            plan.special_dates.append(
                SpecialDatePlan("promotion", promoted, False, 10, f"{who.name}升任{who.title}", 0)
            )
