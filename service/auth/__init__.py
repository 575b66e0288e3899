"""Who may do what: users, API tokens and passwords (``users``), server-side web sessions (``sessions``),
the login throttle (``throttle``) and the first-run setup link (``setup_link``)."""
