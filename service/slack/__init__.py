"""The Slack interface: a slack-bolt app over the shared answering core.

    app.py         the bot: listeners that ack at once and answer lazily
    asks.py        a question as it arrived (mention, DM, thread reply, /ask) and its dedupe key
    replies.py     posting: the placeholder, the answer that replaces it, short notes
    votes.py       a 👍/👎 click, stored with the reading page's votes (service.feedback)
    connection.py  the tokens, what the bot cannot start without, the Web API client
    blocks.py      Block Kit messages, pure functions of an Answer
    channels.py    per-channel settings (NEWSDESK_SLACK_CHANNELS_FILE)
    dedupe.py      one answer per message across retries and processes
    threads.py     answers by thread: follow-ups and what feedback refers to
    state.py       the Chroma collections the processes share
    logs.py        keeps tokens and secrets out of log records
    http.py        mount_slack(app, settings, components): POST /slack/events
    runner.py      `newsdesk slack` (Socket Mode or HTTP Events) and feedback-export

Nothing here is imported by the core; importing this package loads no Slack code.
"""
