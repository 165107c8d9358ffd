"""PostgreSQL backend that creates databases with a UTF-8 character classification.

pg_trgm sees no trigrams in Chinese text when LC_CTYPE is C, so test databases (and the
ones `createdb` makes through Django) use C.UTF-8, which every Debian server has.
"""

from django.db.backends.postgresql import base, creation


class DatabaseCreation(creation.DatabaseCreation):
    def _get_database_create_suffix(
        self, encoding: str | None = None, template: str | None = None
    ) -> str:
        # A private hook of Django's creation class (not in the type stubs).
        suffix: str = super()._get_database_create_suffix(  # type: ignore[misc]
            encoding="UTF8", template=template
        )
        return f"{suffix} LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
