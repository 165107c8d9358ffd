"""Every record that hangs on a customer, found from the model graph, so that a merge moves
records of capabilities added later (ledger, grading, visits …) without being told.

Customer._meta.get_fields(include_hidden=True) lists each foreign key pointing at
Customer, including hidden ones (related_name="+"). For each:

- a many-to-one link (Contact.customer, Attachment.customer, a future
  LedgerEntry.customer …) is *moved*: the merged customer's rows are re-pointed at the
  survivor, and their ids are kept so a reversal can point them back;
- the rows of a many-to-many relation (Customer.tags, Customer.co_owners, a future
  Campaign.customers) are *united*: the survivor gains the merged customer's partners it
  lacked; the merged customer keeps its own rows, and a reversal removes what was added;
- one-to-one links are left with the merged customer: they describe that customer itself
  (a profile, a search-index row), and the survivor has its own;
- links handled by the merge itself are skipped: Customer.merged_into, MergeRecord,
  DuplicateDismissal;
- a model can keep its rows with the merged customer by declaring
  `customer_merge = "keep"` (e.g. records that must stay with the legal entity that
  signed them, or per-customer aggregates with a unique constraint that its app rebuilds).

A model linked to Customer (any kind of link) may also define classmethods
`customer_merged(*, actor, survivor, merged)` and `customer_merge_reversed(*, actor,
survivor, merged)`; the merge calls them in its transaction after moving the records
(e.g. the ledger rebuilds the survivor's balance and monthly sums). A move that breaks a
unique constraint refuses the whole merge with a Conflict naming the records.

The merged customer's history (audit.AuditEvent.customer_id) is not a foreign key and is
not moved: the audit log is append-only. The survivor's timeline reads it through
customers.dedup.selectors.customer_timeline instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

from guanxi.customers.models import Customer

MOVE = "move"
UNITE = "unite"


@dataclass(frozen=True)
class Link:
    model: type[models.Model]
    field: models.ForeignKey  # the foreign key pointing at Customer
    kind: str  # MOVE or UNITE
    other: models.ForeignKey | None = None  # UNITE: the key to the partner row

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field.name}"

    @property
    def rows(self) -> Any:
        # The base manager: no custom filtering or update guards of the model's default
        # manager (moving a link is not an edit of the row's business content).
        return self.model._base_manager

    @property
    def verbose_name(self) -> str:
        if self.kind == UNITE:
            owner = self.model._meta.auto_created
            for m2m in owner._meta.many_to_many:
                if m2m.remote_field.through is self.model:
                    return str(m2m.verbose_name)
        return str(self.model._meta.verbose_name_plural)


def _handled_by_merge() -> set[type[models.Model]]:
    from guanxi.customers.dedup.models import DuplicateDismissal, MergeRecord

    return {Customer, MergeRecord, DuplicateDismissal}


def customer_links() -> list[Link]:
    """Every link to Customer that a merge moves or unites, in a stable order."""
    skipped = _handled_by_merge()
    links = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if rel.concrete or not rel.auto_created or rel.many_to_many or rel.one_to_one:
            continue
        model = rel.related_model
        if model in skipped or getattr(model, "customer_merge", MOVE) == "keep":
            continue
        if model._meta.auto_created:
            others = [
                f
                for f in model._meta.concrete_fields
                if f.many_to_one and f is not rel.field and f.related_model is not Customer
            ]
            if len(others) == 1:
                links.append(Link(model, rel.field, UNITE, others[0]))
            continue
        links.append(Link(model, rel.field, MOVE))
    return sorted(links, key=lambda link: link.label)


def link_by_label(label: str) -> Link | None:
    return next((link for link in customer_links() if link.label == label), None)


def merge_hooks(name: str) -> list[Any]:
    """The `name` classmethods (customer_merged / customer_merge_reversed) of the models
    linked to Customer, in a stable order."""
    models_seen: dict[str, Any] = {}
    for rel in Customer._meta.get_fields(include_hidden=True):
        if rel.concrete or not rel.auto_created:
            continue
        model = rel.related_model
        hook = getattr(model, name, None)
        if hook is not None:
            models_seen.setdefault(model._meta.label_lower, hook)
    return [models_seen[label] for label in sorted(models_seen)]
