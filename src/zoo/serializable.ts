import { registerSerializable } from '../models/keras-config/index.js';
import { ConvBNRelu, InceptionBlock, ResnetBlock } from './blocks.js';

// The zoo's composite blocks are saved as registered classes ('convkit>ResnetBlock'), as a user's own would be.
registerSerializable(ConvBNRelu, { package: 'convkit' });
registerSerializable(InceptionBlock, { package: 'convkit', name: 'InceptionBlk' });
registerSerializable(ResnetBlock, { package: 'convkit' });
