import { checkIndex, type ImageSource, type Sample, type SourceDataset } from './dataset.js';
import { compose } from './transforms.js';

const WHOLE_IMAGE = compose([{ kind: 'decode' }, { kind: 'hwc2chw' }]);

/** Unlabelled image files (what predict classifies), as a dataset a DataLoader can batch; every label is 0. */
export class ImageFiles implements SourceDataset {
  readonly classNames: readonly string[] = ['unlabelled'];

  constructor(readonly paths: readonly string[]) {}

  get length(): number {
    return this.paths.length;
  }

  labelAt(index: number): number {
    checkIndex(index, this.length);
    return 0;
  }

  sourceAt(index: number): ImageSource {
    return { kind: 'file', path: this.paths[checkIndex(index, this.length)]! };
  }

  async get(index: number): Promise<Sample> {
    const output = await WHOLE_IMAGE.apply(this.sourceAt(index));
    return { image: output.data, shape: output.shape, label: 0 };
  }
}
