import json, sys, time, torch
torch.set_num_threads(2)
from pathlib import Path
from pytest_vbench.runtime import Runtime
from pytest_vbench.video import load_video
from pytest_vbench.models.tag2text.loader import load
from pytest_vbench.models.tag2text.model import MEAN, STD
ref = json.load(open('/work/shared/parity/tag2text/reference/scene.json'))
rt = Runtime(cache_dir='/tmp/h7b/cache')
t=time.time(); m = load(rt); print('load', time.time()-t)
name = sys.argv[1]
fr = load_video(f'/work/shared/parity/tag2text/videos/{name}', num_frames=16, width=384, height=384)
fr = torch.as_tensor(fr) if not torch.is_tensor(fr) else fr
print(type(fr), fr.shape, fr.dtype)
r = ref['videos'][name]
print('sums', [int(x) for x in fr.reshape(16,-1).sum(1)][:4], r['frames_uint8']['sum_per_frame'][:4])
x = fr.float().permute(0,3,1,2)/255.0 if fr.shape[-1]==3 else fr.float()/255.0
x = (x - torch.tensor(MEAN)[:,None,None]) / torch.tensor(STD)[:,None,None]
print('input sum', x.sum().item(), r['model_input'])
t=time.time(); out = m.caption_frames(x); print('model', time.time()-t)
print('emb', out['image_embeds'].mean().item(), out['image_embeds'].std().item(), r['image_embeds'])
print('tags eq', [a==b for a,b in zip(out['tags'], r['tag_strings'])])
print('caps eq', [a==b for a,b in zip(out['captions'], r['captions'])])
print(out['captions'][:4], r['captions'][:4])
print(out['caption_ids'][0].tolist(), r['caption_token_ids'][0])
torch.save(out, f'/tmp/h7b/out_{name}.pt')
