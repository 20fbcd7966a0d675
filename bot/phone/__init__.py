"""The phone front: staff commands sent by Telegram or SMS (``/poll``, ``/send 4``,
``/results 2``, ``/approve ID-4821``, ``/export``), read here, done by the desk, and
answered in short English lines with buttons; files (exports, charts) follow in
Telegram.

    commands.py     which command a message is, and doing it (``perform``)
    reading.py      a command's body: text lines, ``name: value`` settings, translations
    broadcasts.py   /poll, /broadcast, /send, /cancel, /pause, /resume, /results, /close
    ideas.py        /ideas, /idea, /approve, /reject, /merge, /shortlist
    exports.py      /export
    reply.py        the answer, and a desk refusal in a phone's words
    attachments.py  the files staff get in Telegram, made when they are sent
"""

from bot.phone.commands import Command, command_of, perform
from bot.phone.reply import Attachment, Phone, StaffReply

__all__ = ["Attachment", "Command", "Phone", "StaffReply", "command_of", "perform"]
