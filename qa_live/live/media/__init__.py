"""Photo live (图文直播), the session's recording and its materials (相关内容).

models.py the rows; files.py the stored files (written before the commit, removed again if the
transaction rolls back); images.py and pdfs.py check uploads by their content; photos.py,
materials.py and recording.py the operations; payloads.py what pages and events carry;
commands.py the console's commands; views.py serving, uploads and the studio page.
"""
