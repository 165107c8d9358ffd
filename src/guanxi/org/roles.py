"""The default roles of MISSION.md with their permissions and data scopes.

They are created once (after migrate); administrators may change them afterwards in the
admin, and `ensure_default_roles` never overwrites an existing role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Permission
from django.db import DEFAULT_DB_ALIAS

VIEW = ["customers.view_customer"]
EDIT = [
    "customers.view_customer",
    "customers.add_customer",
    "customers.change_customer",
    "customers.export_customer",
]
MANAGE = [*EDIT, "customers.delete_customer", "customers.restore_customer"]
ORG_ADMIN = [
    f"{app}.{verb}_{model}"
    for app, model in [("org", "user"), ("org", "department"), ("org", "role")]
    for verb in ("view", "add", "change", "delete")
] + [
    "policy.view_policyversion",
    "policy.add_policyversion",
    "policy.change_policyversion",
    "core.view_workdayoverride",
    "core.add_workdayoverride",
    "core.change_workdayoverride",
    "core.delete_workdayoverride",
]

# Ledger and credit (issue 4): the owner and finance record shipments in their scope, finance
# records payments, only the general manager approves credit limits, credit controllers
# (finance, general manager) approve one-off overrides.
LEDGER_VIEW = [
    "ledger.view_shipment",
    "ledger.view_payment",
    "ledger.view_order",
    "ledger.view_customerterms",
    "ledger.view_pricecoefficient",
    "credit.view_creditlimit",
    "credit.view_creditrating",
    "credit.view_creditoverride",
    "credit.view_creditinvestigation",
    "credit.view_creditround",
    "credit.view_credit_report",
    "credit.change_creditinvestigation",
]
LEDGER_SALES = [
    *LEDGER_VIEW,
    "ledger.add_shipment",
    "ledger.add_order",
    "ledger.change_order",
    "ledger.add_pricecoefficient",
    "credit.add_creditlimit",
    "credit.add_creditoverride",
]
LEDGER_MANAGERS = [
    *LEDGER_VIEW,
    "ledger.add_pricecoefficient",
    "credit.add_creditlimit",
    "credit.add_creditoverride",
]
LEDGER_FINANCE = [
    *LEDGER_SALES,
    "ledger.add_payment",
    "ledger.reverse_entry",
    "ledger.import_ledger",
    "ledger.change_customerterms",
    "credit.add_creditrating",
    "credit.open_creditround",
    "credit.approve_creditoverride",
]
LEDGER_GENERAL_MANAGER = [
    *LEDGER_MANAGERS,
    "ledger.approve_pricecoefficient",
    "ledger.change_customerterms",
    "credit.approve_creditlimit",
    "credit.approve_creditoverride",
    "credit.add_creditrating",
    "credit.open_creditround",
]

# Cooperation status (issue 5): owners change statuses and confirm them monthly; managers
# follow the monthly progress and the upgrade leaderboard; the sales director (and the
# general manager) decide special reviews.
COOPERATION_SALES = ["cooperation.add_statuschange", "cooperation.add_monthlyupdate"]
COOPERATION_SUPERVISOR = [
    *COOPERATION_SALES,
    "cooperation.view_update_progress",
    "cooperation.view_specialreview",
]
COOPERATION_DIRECTOR = [*COOPERATION_SUPERVISOR, "cooperation.decide_specialreview"]
COOPERATION_GENERAL_MANAGER = [
    "cooperation.view_update_progress",
    "cooperation.view_specialreview",
    "cooperation.decide_specialreview",
]


# Annual review cycle and grade lifecycle (issue 5, reviews app): owners rate their customers
# and apply for A treatment; the sales director adjusts in the review meeting; the general
# manager approves; the administrator opens cycles. Frozen copy: reviews/migrations/0002.
REVIEWS_VIEW = [
    "reviews.view_reviewcycle",
    "reviews.view_reviewentry",
    "reviews.view_lifecycle",
    "reviews.view_treatmentapplication",
    "reviews.export_reviewentry",
]
REVIEWS_SALES = [*REVIEWS_VIEW, "reviews.rate_reviewentry", "reviews.add_treatmentapplication"]
REVIEWS_DIRECTOR = [
    *REVIEWS_SALES,
    "reviews.adjust_reviewcycle",
    "reviews.decide_treatmentapplication",
    "reviews.add_provisionalreview",
    "reviews.view_dashboard",
]
REVIEWS_GENERAL_MANAGER = [
    *REVIEWS_VIEW,
    "reviews.approve_reviewcycle",
    "reviews.decide_treatmentapplication",
    "reviews.add_provisionalreview",
    "reviews.view_dashboard",
]
REVIEWS_ADMIN = [*REVIEWS_VIEW, "reviews.open_reviewcycle", "reviews.view_dashboard"]


@dataclass(frozen=True)
class RoleDefault:
    code: str
    name: str
    description: str
    data_scope: str
    permissions: list[str]
    read_only: bool = False


DEFAULT_ROLES = [
    RoleDefault(
        "salesperson",
        "业务员",
        "拥有客户、报备线索、计划与记录拜访、每月更新合作状态",
        "self",
        [*EDIT, *LEDGER_SALES, *COOPERATION_SALES, *REVIEWS_SALES],
    ),
    RoleDefault(
        "supervisor",
        "业务主管/区域经理",
        "审批拜访计划、审阅拜访日报、客户等级初审",
        "department_and_below",
        [
            *EDIT,
            *LEDGER_MANAGERS,
            *COOPERATION_SUPERVISOR,
            *REVIEWS_SALES,
            "reviews.view_dashboard",
        ],
    ),
    RoleDefault(
        "sales_director",
        "销售总监",
        "组织等级评审会议、处理专题评审",
        "department_and_below",
        [
            *MANAGE,
            *LEDGER_MANAGERS,
            "ledger.approve_pricecoefficient",
            *COOPERATION_DIRECTOR,
            "grading.run_grading",
            *REVIEWS_DIRECTOR,
        ],
    ),
    RoleDefault(
        "general_manager",
        "总经理",
        "审批客户等级、信用额度、绝密访问",
        "all",
        [
            *MANAGE,
            "customers.view_top_secret",
            "audit.view_auditevent",
            *LEDGER_GENERAL_MANAGER,
            *COOPERATION_GENERAL_MANAGER,
            "grading.run_grading",
            *REVIEWS_GENERAL_MANAGER,
        ],
    ),
    RoleDefault(
        "finance",
        "财务",
        "出货回款、应收账款、资信评级数据",
        "all",
        [*VIEW, "customers.export_customer", *LEDGER_FINANCE],
    ),
    RoleDefault("customer_service", "客服", "投诉与服务工单", "all", VIEW, read_only=True),
    RoleDefault("legal", "法务", "合同审核", "all", VIEW, read_only=True),
    RoleDefault(
        "archive_keeper",
        "档案管理员",
        "档案完整性、调阅与借阅审批",
        "all",
        [
            *MANAGE,
            "customers.override_credit_code",
            "customers.view_top_secret",
            "audit.view_auditevent",
        ],
    ),
    RoleDefault(
        "administrator",
        "系统管理员",
        "用户、部门、策略包",
        "all",
        [*MANAGE, *ORG_ADMIN, "audit.view_auditevent", "grading.run_grading", *REVIEWS_ADMIN],
    ),
]
ROLE_CODES = [role.code for role in DEFAULT_ROLES]


def _permission_objects(names: list[str], using: str) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = name.split(".")
        perm = (
            Permission.objects.using(using)
            .filter(content_type__app_label=app_label, codename=codename)
            .first()
        )
        if perm is None:
            raise RuntimeError(f"default role permission {name} does not exist")
        found.append(perm)
    return found


def ensure_default_roles(
    sender: Any = None, using: str = DEFAULT_DB_ALIAS, apps: Any = None, **kwargs: Any
) -> None:
    from guanxi.org.models import Role

    # Permissions of apps later in INSTALLED_APPS are not there yet when our post_migrate
    # runs; create them now (idempotent).
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    for index, default in enumerate(DEFAULT_ROLES):
        role, created = Role.objects.using(using).get_or_create(
            code=default.code,
            defaults={
                "name": default.name,
                "description": default.description,
                "data_scope": default.data_scope,
                "read_only": default.read_only,
                "sort_order": index,
            },
        )
        if created:
            role.permissions.set(_permission_objects(default.permissions, using))
