"""Language knowledge shared by the engine and the service.

``normalize`` folds what residents type into a comparable form, ``words`` holds the
keyword and yes/no vocabulary per language, ``names`` the languages' own names, and
``phrases`` the bot's own sentences from the gettext catalogs in ``locales/``.
"""
